"""The console's pure parts: workflows in causal order, usage by family, bytes for people,
where sign-in may send a browser, the gate's answers, and the text filters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import TopicNames
from events.common import GenerationUsage
from events.lessons import LessonPhase, LessonPhaseCompleted
from projections.base import Applied
from projections.usage import UsageStatsView
from projections.workflows import StepView, causal_order, row_of
from services.api.console.core import Form, FormError
from services.api.console.gate import ConsoleGate, cookie_value, safe_next
from services.api.console.operations_page import shown_bytes, step_link, usage_by_family
from services.api.console.render import duration, emphasis
from services.api.console.session import SessionSigner
from services.bus.consumer import Delivery
from tests.support.helpers import answer_event

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def step(event_id: int, cause: int | None, ms: int, **kw: Any) -> StepView:
    values: dict[str, Any] = {
        "event_id": uuid.UUID(int=event_id),
        "correlation_id": uuid.UUID(int=1),
        "causation_id": uuid.UUID(int=cause) if cause is not None else None,
        "event_type": f"e{event_id}",
        "event_version": 1,
        "key": "k",
        "source": "test",
        "occurred_at": T0 + timedelta(milliseconds=ms),
        "topic": "t.lessons",
        "partition": 0,
        "offset": event_id,
        "model_calls": 0,
        "strategy": None,
        "provider": None,
        "model": None,
        "input_tokens": None,
        "output_tokens": None,
        "cost_usd": None,
        "latency_ms": None,
    }
    return StepView.model_validate(values | kw)


def test_a_workflow_reads_in_causal_order_with_its_timings() -> None:
    # 1 -> 2 -> {3, 4}; 3 -> 5; 6 was caused by an event not in the log
    steps = [step(5, 3, 90), step(4, 2, 40), step(2, 1, 10), step(1, None, 0), step(3, 2, 30)]
    steps.append(step(6, 99, 50))
    ordered = causal_order(reversed(steps))
    assert [s.event_id.int for s in ordered] == [1, 2, 3, 5, 4, 6]
    assert [s.depth for s in ordered] == [0, 1, 2, 3, 2, 0]
    assert [s.since_cause_ms for s in ordered] == [None, 10, 20, 60, 30, None]
    assert [s.since_start_ms for s in ordered] == [0, 10, 30, 90, 40, 50]
    assert [s.orphan for s in ordered] == [False] * 5 + [True]
    assert causal_order([]) == []


@given(st.lists(st.integers(0, 30), min_size=1, max_size=30))
def test_every_step_comes_after_its_cause(parents: list[int]) -> None:
    """Any forest (each event caused by an earlier one, or by nothing): causes first,
    every event once."""
    steps = [step(1, None, 0)] + [
        step(i + 2, (p % (i + 1)) + 1 if p else None, i) for i, p in enumerate(parents)
    ]
    ordered = causal_order(steps)
    place = {s.event_id: n for n, s in enumerate(ordered)}
    assert sorted(place.values()) == list(range(len(steps)))
    for s in ordered:
        if s.causation_id is not None:
            assert place[s.causation_id] < place[s.event_id]


def test_a_row_sums_the_usage_its_payload_carries() -> None:
    usage = GenerationUsage(
        family="lessons.planning", strategy="llm", provider="anthropic", model="m",
        input_tokens=120, output_tokens=30, cost_usd=0.002, latency_ms=800,
    )  # fmt: skip
    fields: dict[str, Any] = dict.fromkeys(LessonPhaseCompleted.model_fields)
    payload = LessonPhaseCompleted.model_construct(
        **(fields | {"lesson_id": "l1", "phase": LessonPhase.PLANNING, "usage": usage})
    )
    event = answer_event("ada").model_copy(update={"payload": payload})
    row = row_of(Applied(Delivery("t.lessons", 2, 7, b"l1", b"{}", ()), event))
    assert (row["topic"], row["partition"], row["offset"]) == ("t.lessons", 2, 7)
    assert row["model_calls"] == 1 and row["provider"] == "anthropic"
    assert (row["input_tokens"], row["output_tokens"], row["cost_usd"]) == (120, 30, 0.002)
    plain = row_of(Applied(Delivery("t.learning", 0, 1, None, b"{}", ()), answer_event("ada")))
    assert plain["model_calls"] == 0 and plain["cost_usd"] is None


def usage(family: str, strategy: str, calls: int, cost: float, fallback: float = 0) -> Any:
    return UsageStatsView(
        family=family, strategy=strategy, provider=None, calls=calls, input_tokens=calls * 10,
        output_tokens=calls, cached_tokens=0, cost_usd=cost, latency_p50_ms=1,
        latency_p95_ms=2, fallback_rate=fallback,
    )  # fmt: skip


def test_usage_is_summed_per_family() -> None:
    rows = [
        usage("lessons.planning", "llm", 4, 0.01, fallback=0.5),
        usage("lessons.scoring", "rules", 2, 0.0),
        usage("jit", "rules", 3, 0.0),
        usage("courses", "llm", 1, 0.05),
    ]
    families = usage_by_family(rows)
    assert [f.family for f in families] == ["courses", "lessons", "jit"]
    lessons = families[1]
    assert (lessons.calls, lessons.input_tokens, lessons.fallbacks) == (6, 60, 2)
    assert lessons.strategies == ("llm", "rules") and lessons.cost_usd == pytest.approx(0.01)


def test_bytes_are_shown_as_json_text_or_hex() -> None:
    assert shown_bytes(b'{"b":1,"a":[2]}').kind == "json"
    assert shown_bytes(b'{"b":1,"a":[2]}').text == '{\n  "b": 1,\n  "a": [\n    2\n  ]\n}'
    assert shown_bytes(b"not json").kind == "text"
    binary = shown_bytes(bytes(range(256)) * 3)
    assert binary.kind == "binary" and binary.text.startswith("00 01 02")
    assert binary.text.endswith("… 256 more bytes")
    assert shown_bytes(None).kind == shown_bytes(b"").kind == "empty"


def test_steps_link_to_the_page_of_what_they_are_about() -> None:
    names = TopicNames("nls")
    every = frozenset({"drills", "courses", "lessons", "diagnosis"})
    series = step(1, None, 0, topic="nls.drills", event_type="batch-completed", key="s1")
    seeded = step(2, None, 0, topic="nls.drills", event_type="position-seeded", key="x")
    lesson = step(3, None, 0, topic="nls.lessons", key="l-1")
    assert step_link(series, names, every) == "/console/drills?series=s1"
    assert step_link(seeded, names, every) is None
    assert step_link(lesson, names, every) == "/console/generate?lesson=l-1"
    assert step_link(lesson, names, frozenset()) is None  # no lessons family installed
    assert step_link(step(4, None, 0, topic="other.lessons"), names, every) is None


@pytest.mark.parametrize(
    ("target", "goes_to"),
    [
        ("/console/drills?series=1", "/console/drills?series=1"),
        (None, "/console/generate"),
        ("https://elsewhere.example/", "/console/generate"),
        ("//elsewhere.example/console/", "/console/generate"),
        ("/console\\@elsewhere", "/console/generate"),
        ("/v1/dead-letters", "/console/generate"),
        ("/console/sign-in?next=/console/x", "/console/generate"),
    ],
)
def test_sign_in_only_goes_on_to_a_console_page(target: str | None, goes_to: str) -> None:
    assert safe_next(target) == goes_to


def scope(path: str, cookie: str | None = None, method: str = "GET") -> dict[str, Any]:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return {"type": "http", "path": path, "method": method, "headers": headers,
            "query_string": b"a=1"}  # fmt: skip


def test_the_gate_admits_sessions_and_sends_the_rest_to_sign_in() -> None:
    signer = SessionSigner("t")
    gate = ConsoleGate(signer, clock=lambda: 1_800_000_000.0)
    session = signer.issue(1_800_000_000.0)
    good = f"other=1; nls_console={signer.cookie(session)}"
    admitted = scope("/console/courses", good)
    assert gate.admit(admitted) and admitted["state"]["console_session"] == session
    assert gate.admit(scope("/console/sign-in")) and gate.admit(scope("/console/static/x.css"))
    assert not gate.admit(scope("/console/courses"))
    assert not gate.admit(scope("/console/courses", "nls_console=forged.sig"))
    page = gate.refusal(scope("/console/courses"))
    assert page.status_code == 303
    assert page.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fcourses%3Fa%3D1"
    post = gate.refusal(scope("/console/courses", method="POST"))
    assert post.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fcourses"
    assert gate.refusal(scope("/console/drills/x/live")).status_code == 401
    gate.revocations.revoke(session, 1_800_000_000.0)
    assert not gate.admit(scope("/console/courses", good))
    assert cookie_value(scope("/", 'a="unterminated'), "a") is None


def test_form_numbers_name_their_field() -> None:
    form = Form({"n": ["12"], "bad": ["x"], "big": ["99"]})
    assert form.number("n", 1, lo=1, hi=20, label="N") == 12
    assert form.number("missing", 5, lo=1, hi=20, label="M") == 5
    for name, message in (("bad", "B must be a whole number"), ("big", "between 1 and 20")):
        with pytest.raises(FormError, match=message) as caught:
            form.number(name, 1, lo=1, hi=20, label=name.upper()[0])
        assert caught.value.name == name


def test_text_filters() -> None:
    assert str(emphasis("**Ring** <b>final</b> & **radial**")) == (
        "<strong>Ring</strong> &lt;b&gt;final&lt;/b&gt; &amp; <strong>radial</strong>"
    )
    assert [duration(x) for x in (None, 850, 12_400, 185_000)] == [
        "-", "850 ms", "12.4 s", "3 min 5 s",
    ]  # fmt: skip
