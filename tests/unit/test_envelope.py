"""Envelope validation and upcasting."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from pydantic import Field

from events import (
    CATALOG,
    Catalog,
    Context,
    Envelope,
    InvalidEvent,
    Payload,
    UndecodableEvent,
    UnknownEventType,
    UpcastError,
    decode,
    event,
)
from events.learning import AnswerSubmitted

pytestmark = pytest.mark.unit


def answer_json(**payload: Any) -> dict[str, Any]:
    body = {
        "learner_id": "ada",
        "session_id": "s1",
        "concept_id": str(uuid.uuid4()),
        "question_id": "q1",
        "correct": False,
        "response_time_ms": 4200,
        "answer_given": "255.255.255.0",
    } | payload
    eid = str(uuid.uuid4())
    return {
        "event_id": eid,
        "event_type": "answer-submitted",
        "event_version": 1,
        "occurred_at": "2026-11-21T10:00:00+00:00",
        "key": body["learner_id"],
        "correlation_id": eid,
        "source": "app",
        "payload": body,
    }


def test_valid_event() -> None:
    env = CATALOG.validate(answer_json())
    assert isinstance(env.payload, AnswerSubmitted)
    assert env.occurred_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda e: e["payload"].pop("learner_id"), ["payload", "learner_id"]),
        (lambda e: e["payload"].update(response_time_ms=-5), ["payload", "response_time_ms"]),
        (lambda e: e["payload"].update(correct="maybe"), ["payload", "correct"]),
        (lambda e: e["payload"].update(extra_field=1), ["payload", "extra_field"]),
        (lambda e: e.update(occurred_at="2026-11-21T10:00:00"), ["occurred_at"]),
        (lambda e: e.update(event_id="not-a-uuid"), ["event_id"]),
        (lambda e: e.update(key="someone-else"), ["key"]),
        (lambda e: e.pop("source"), ["source"]),
    ],
)
def test_invalid_events_name_the_field(mutate: Any, loc: list[str]) -> None:
    raw = answer_json()
    mutate(raw)
    with pytest.raises(InvalidEvent) as info:
        CATALOG.validate(raw)
    assert info.value.errors[0]["loc"] == loc
    assert info.value.kind == "invalid_payload"


def test_unknown_type_and_newer_version() -> None:
    raw = answer_json()
    raw["event_type"] = "answer-teleported"
    with pytest.raises(UnknownEventType, match="answer-teleported"):
        CATALOG.validate(raw)
    raw = answer_json()
    raw["event_version"] = 7
    with pytest.raises(UnknownEventType, match="newer than this catalog"):
        CATALOG.validate(raw)


def test_decode_rejects_non_json_and_non_objects() -> None:
    with pytest.raises(UndecodableEvent):
        decode(b"{not json")
    with pytest.raises(UndecodableEvent):
        decode(None)
    with pytest.raises(InvalidEvent):
        decode(b"[1, 2]")


def test_api_defaults_fill_ids_key_and_time() -> None:
    raw = answer_json()
    for field in ("event_id", "occurred_at", "key", "correlation_id", "source", "event_version"):
        raw.pop(field)
    env = CATALOG.validate(raw, fill_defaults=True, source="api")
    assert env.key == "ada" and env.source == "api" and env.correlation_id == env.event_id


# Upcasting, with a catalog of its own --------------------------------------------------
local = Catalog()


@event("grade-recorded", context=Context.LEARNING, key="learner_id", version=3, catalog=local)
class GradeRecorded(Payload):
    """A grade (v3: percent as a float, with a scale)."""

    learner_id: str
    percent: float = Field(ge=0, le=100)
    scale: str


@local.upcaster("grade-recorded", 1)
def _v1_to_v2(p: dict[str, Any]) -> dict[str, Any]:
    # v1 had a 0-10 "mark"; v2 says percent.
    return {"learner_id": p["learner_id"], "percent": p.pop("mark") * 10}


@local.upcaster("grade-recorded", 2)
def _v2_to_v3(p: dict[str, Any]) -> dict[str, Any]:
    return p | {"scale": "percent"}


def _old(version: int, payload: dict[str, Any]) -> bytes:
    eid = str(uuid.uuid4())
    return orjson.dumps(
        {
            "event_id": eid,
            "event_type": "grade-recorded",
            "event_version": version,
            "occurred_at": "2026-01-01T00:00:00Z",
            "key": "ada",
            "correlation_id": eid,
            "source": "old-app",
            "payload": payload,
        }
    )


def test_upcasters_chain_to_the_current_version() -> None:
    env = decode(_old(1, {"learner_id": "ada", "mark": 7}), local)
    assert env.event_version == 3
    assert env.payload == GradeRecorded(learner_id="ada", percent=70.0, scale="percent")
    assert (
        decode(_old(2, {"learner_id": "ada", "percent": 55}), local).payload_as(GradeRecorded).scale
        == "percent"
    )
    assert local.upcasters() == [("grade-recorded", 1), ("grade-recorded", 2)]


def test_failing_upcaster_is_a_typed_error() -> None:
    with pytest.raises(UpcastError, match="v1"):
        decode(_old(1, {"learner_id": "ada"}), local)  # no "mark"


def test_double_registration_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        local.upcaster("grade-recorded", 1)(_v1_to_v2)
    with pytest.raises(ValueError, match="twice"):
        event("grade-recorded", context=Context.LEARNING, key="learner_id", catalog=local)(
            GradeRecorded
        )


def test_envelope_new_uses_the_payload_key() -> None:
    env = Envelope.new(GradeRecorded(learner_id="bob", percent=1, scale="p"), source="t")
    assert env.key == "bob" and env.event_version == 3
