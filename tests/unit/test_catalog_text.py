"""Every text field of every event refuses NUL and unpaired surrogates, naming the field.

Postgres cannot store NUL, and a lone surrogate is not Unicode; the catalog
refuses both at validation, so the HTTP API (``CATALOG.validate``) and every
reader (``decode``, with or without the Kafka headers) give the same error.
"""

from __future__ import annotations

import json
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast, get_args, get_origin

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from events import CATALOG, Envelope, InvalidEvent, decode, encode
from events.learning import AnswerSubmitted
from events.text import TEXT_ERROR_TYPE, TextChecked, find_text_problems, text_problem

pytestmark = pytest.mark.unit

Loc = tuple[str | int, ...]

# Legal text: any Unicode scalar value but NUL, astral planes and emoji included.
legal = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30
).filter(lambda s: s.strip() == s)
unstorable_char = st.just("\x00") | st.integers(0xD800, 0xDFFF).map(chr)


@st.composite
def unstorable(draw: st.DrawFn) -> str:
    """Legal text with one NUL or lone surrogate somewhere in it."""
    base = draw(legal)
    at = draw(st.integers(0, len(base)))
    return base[:at] + draw(unstorable_char) + base[at:]


def _answer() -> dict[str, Any]:
    return {
        "event_type": "answer-submitted",
        "source": "quiz-app",
        "payload": {
            "learner_id": "ada",
            "session_id": "s1",
            "concept_id": str(uuid.uuid4()),
            "question_id": "q1",
            "correct": False,
            "response_time_ms": 4200,
            "answer_given": "255.255.255.0",
            "expected_answer": "255.255.255.192",
        },
    }


def _diagnosis() -> dict[str, Any]:
    return {
        "event_type": "failure-diagnosed",
        "source": "diagnoser",
        "payload": {
            "learner_id": "ada",
            "session_id": "s1",
            "concept_id": str(uuid.uuid4()),
            "question_id": "q1",
            "answer_event_id": str(uuid.uuid4()),
            "fail_mode": "retrieval_error",
            "confidence": 0.65,
            "rationale": "known before, not recalled",
            "evidence": {
                "rule": "retrieval.known_before",
                "response_time_ms": 9000,
                "question_kind": "recall",
                "concept_attempts": 3,
                "concept_misses": 1,
                "concept_prior_correct": 2,
                "session_answers": 5,
                "session_minutes": 4.5,
            },
        },
    }


def _plan() -> dict[str, Any]:
    return {
        "event_type": "remediation-planned",
        "source": "remediation",
        "payload": {
            "learner_id": "ada",
            "session_id": "s1",
            "concept_id": str(uuid.uuid4()),
            "question_id": "q1",
            "answer_event_id": str(uuid.uuid4()),
            "diagnosis_event_id": str(uuid.uuid4()),
            "fail_mode": "encoding_error",
            "atoms": [
                {
                    "atom_id": str(uuid.uuid4()),
                    "atom_type": "flashcard",
                    "source": "existing",
                    "front": "What does OSPF use as its metric?",
                }
            ],
            "note": "two atoms",
            "errors": ["first", "second"],
        },
    }


def _concept() -> dict[str, Any]:
    return {
        "event_type": "concept-imported",
        "source": "content-cli",
        "payload": {
            "concept_id": str(uuid.uuid4()),
            "slug": "ospf",
            "pack": "ccna",
            "cluster_id": str(uuid.uuid4()),
            "cluster_slug": "routing",
            "cluster_name": "Routing",
            "name": "OSPF",
            "definition": "A link-state routing protocol.",
            "facts": [
                {"attribute": "metric", "value": "cost", "statement": "OSPF uses cost."},
            ],
            "procedures": [
                {"name": "enable", "kind": "commands", "steps": ["one", "two", "three"]},
            ],
        },
    }


def _batch() -> dict[str, Any]:
    return {
        "event_type": "batch-requested",
        "source": "drills",
        "payload": {
            "artifact_id": str(uuid.uuid4()),
            "project_id": "p1",
            "batch_index": 0,
            "total_batches": 1,
            "drill_indices": [0],
            "positions": [
                {
                    "position_id": "4HPwATDgc/ABMA",
                    "dice": [3, 1],
                    "phase": "EARLY",
                    "candidate_moves": [
                        {"rank": 1, "move": "8/5 6/5", "equity": 0.1, "equity_loss": 0.0}
                    ],
                    "created_at": "2026-11-21T10:00:00+00:00",
                }
            ],
            "context": {
                "mental_model": {"themes": ["priming", {"note": "hit loose"}]},
                "curriculum": {"level": "intermediate"},
                "prompts": {"system_prompt": "You coach.", "user_prompt_template": "Do {n}."},
            },
        },
    }


# (example, location of one text field from the envelope's root)
CASES: list[tuple[Callable[[], dict[str, Any]], Loc]] = [
    (_answer, ("payload", "answer_given")),
    (_answer, ("payload", "expected_answer")),
    (_answer, ("payload", "question_id")),
    (_answer, ("source",)),
    (_diagnosis, ("payload", "rationale")),
    (_diagnosis, ("payload", "evidence", "rule")),
    (_plan, ("payload", "atoms", 0, "front")),
    (_plan, ("payload", "errors", 1)),
    (_plan, ("payload", "note")),
    (_concept, ("payload", "name")),
    (_concept, ("payload", "definition")),
    (_concept, ("payload", "facts", 0, "attribute")),
    (_concept, ("payload", "procedures", 0, "steps", 1)),
    (_batch, ("payload", "positions", 0, "candidate_moves", 0, "move")),
    (_batch, ("payload", "context", "mental_model", "themes", 0)),
    (_batch, ("payload", "context", "mental_model", "themes", 1, "note")),
    (_batch, ("payload", "context", "curriculum", "level")),
    (_batch, ("payload", "context", "prompts", "system_prompt")),
]
CASE_IDS = [f"{make()['event_type']}:{'.'.join(map(str, loc))}" for make, loc in CASES]


def _put(raw: dict[str, Any], loc: Loc, value: str) -> dict[str, Any]:
    node: Any = raw
    for part in loc[:-1]:
        node = node[part]
    node[loc[-1]] = value
    return raw


def _get(env: Envelope, loc: Loc) -> Any:
    node: Any = env
    for part in loc:
        node = (
            getattr(node, part)
            if isinstance(part, str) and not isinstance(node, dict)
            else node[part]
        )
    return node


def _loc(error: dict[str, object]) -> Loc:
    return tuple(cast(list[str | int], error["loc"]))


def _routes(full: dict[str, Any], etype: str) -> Iterator[tuple[str, Callable[[], Envelope]]]:
    """Every way an event reaches validation: the API's dict, and the log's bytes
    (with the Kafka headers: the one-pass path; without: the general path)."""
    # ensure_ascii spells NUL and surrogates as \u escapes, as other languages' encoders do
    value = json.dumps(full, ensure_ascii=True).encode()
    headers = [
        ("event_type", etype.encode()),
        ("event_version", str(full["event_version"]).encode()),
    ]
    yield "api", lambda: CATALOG.validate(full, fill_defaults=True)
    yield "log+headers", lambda: decode(value, headers=headers)
    yield "log", lambda: decode(value)


@pytest.mark.parametrize(("make", "loc"), CASES, ids=CASE_IDS)
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(good=legal, bad=unstorable())
def test_text_field_refuses_nul_and_lone_surrogates(
    make: Callable[[], dict[str, Any]], loc: Loc, good: str, bad: str
) -> None:
    env = CATALOG.validate(_put(make(), loc, good), fill_defaults=True)
    assert _get(env, loc) == good
    full = orjson.loads(encode(env).value)
    for _, route in _routes(full, env.event_type):
        assert route() == env

    _put(full, loc, bad)
    reasons = set()
    for name, route in _routes(full, env.event_type):
        with pytest.raises(InvalidEvent) as caught:
            route()
        hits = [e for e in caught.value.errors if e["type"] == TEXT_ERROR_TYPE]
        assert [_loc(e) for e in hits] == [loc], (name, caught.value.errors)
        assert text_problem(bad) == hits[0]["msg"]
        reasons.add(caught.value.reason)
    (reason,) = reasons  # the same words whichever way the event came in
    assert reason.startswith(f"{env.event_type}: {'.'.join(map(str, loc))}: text contains ")


@settings(max_examples=60)
@given(bad=unstorable())
def test_a_dict_key_is_named_like_pydantic_names_keys(bad: str) -> None:
    raw = _batch()
    raw["payload"]["context"]["curriculum"] = {bad: 1}
    with pytest.raises(InvalidEvent) as caught:
        CATALOG.validate(raw, fill_defaults=True)
    (error,) = caught.value.errors
    *where, key, marker = _loc(error)
    assert where == ["payload", "context", "curriculum"] and marker == "[key]"
    assert isinstance(key, str)
    assert error["type"] == TEXT_ERROR_TYPE
    # the key is quoted escaped: the error itself goes to a dead letter or an HTTP body
    assert text_problem(key) is None and text_problem(caught.value.reason) is None


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda p: p.update({"ex\x00tra": 1}), ["payload", "ex\\u0000tra"]),
        (lambda p: p.update({"concept_id": "not\x00a-uuid"}), ["payload", "concept_id"]),
        (lambda p: p.update({"question_kind": "re\ud800call"}), ["payload", "question_kind"]),
    ],
)
def test_errors_that_quote_input_are_storable(
    mutate: Callable[[dict[str, Any]], None], loc: list[str]
) -> None:
    raw = _answer()
    mutate(raw["payload"])
    with pytest.raises(InvalidEvent) as caught:
        CATALOG.validate(raw, fill_defaults=True)
    assert caught.value.errors[0]["loc"] == loc
    for text in [caught.value.reason, *(str(e) for e in caught.value.errors)]:
        assert text_problem(text) is None, text


def test_every_problem_is_reported_not_only_the_first() -> None:
    raw = _put(_put(_answer(), ("payload", "answer_given"), "a\x00"), ("source",), "b\ud800")
    with pytest.raises(InvalidEvent) as caught:
        CATALOG.validate(raw, fill_defaults=True)
    locs = {_loc(e) for e in caught.value.errors}
    assert locs == {("payload", "answer_given"), ("source",)}


@pytest.mark.parametrize(
    "text",
    [
        "😀",
        "👩🏽‍💻 ok",
        "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522",
        "\U0010fffd",
        "\ufeffBOM",
        "tab\there",
        "ünïcödé",
        "\u2028",
    ],
)
def test_legal_unicode_is_accepted_and_round_trips(text: str) -> None:
    env = CATALOG.validate(_put(_answer(), ("payload", "answer_given"), text), fill_defaults=True)
    assert env.payload_as(AnswerSubmitted).answer_given == text
    assert decode(json.dumps(orjson.loads(encode(env).value)).encode()) == env


def test_models_built_in_python_refuse_it_too() -> None:
    raw = _answer()["payload"] | {"answer_given": "ab\x00"}
    with pytest.raises(ValidationError) as caught:
        AnswerSubmitted(**raw)
    (error,) = caught.value.errors()
    assert error["loc"] == ("answer_given",) and error["type"] == TEXT_ERROR_TYPE
    assert "NUL (U+0000) at index 2" in error["msg"]


def _nested_models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for f in annotation.model_fields.values():
            yield from _nested_models(f.annotation)
    elif get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
        for arg in get_args(annotation):
            yield from _nested_models(arg)


def test_every_model_of_the_catalog_checks_its_text() -> None:
    """No field can be forgotten: the envelope, every payload and every value
    object inside one derive from ``TextChecked``."""
    seen: set[type[BaseModel]] = set()
    for spec in CATALOG:
        seen |= set(_nested_models(spec.envelope_model))
    assert len(seen) > len(list(CATALOG)) * 2
    unchecked = sorted(m.__name__ for m in seen if not issubclass(m, TextChecked))
    assert unchecked == []


def test_find_text_problems_walks_containers() -> None:
    value = {"a": ["ok", ("x\x00",)], "k\ud801": {"b": "fine"}}
    problems = find_text_problems(value, ("field",))
    assert [(p.loc, p.text) for p in problems] == [
        (("field", "a", 1, 0), "x\x00"),
        (("field", "k\ud801", "[key]"), "k\ud801"),
    ]
    assert "U+D801" in problems[1].problem
