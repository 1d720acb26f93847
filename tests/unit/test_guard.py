"""The guard around every handler: decode, skip, retry, dead-letter; never raise."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest

from events import Envelope, TopicNames, encode, header
from events.learning import AnswerSubmitted
from services.bus.consumer import Delivery
from services.runtime.dead_letters import read_dead_letter
from services.runtime.errors import PermanentError, RetryableError
from services.runtime.handler import Guard, RetryPolicy

pytestmark = pytest.mark.unit

TOPICS = TopicNames("unit")


def delivery(
    value: bytes | None, headers: Sequence[tuple[str, bytes]] = (), offset: int = 7
) -> Delivery:
    return Delivery("unit.learning", 2, offset, b"k", value, tuple(headers))


def good_event() -> Envelope:
    return Envelope.new(
        AnswerSubmitted(
            learner_id="ada",
            session_id="s",
            concept_id=uuid.uuid4(),
            question_id="q",
            correct=False,
            response_time_ms=5000,
            answer_given="x",
        ),
        source="t",
    )


class Scripted:
    """Fails per a script of exceptions, then echoes the event's id in a list."""

    name = "scripted"
    event_types: frozenset[str] | None = frozenset({"answer-submitted"})

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return [event]


def guard(handler: Scripted, attempts: int = 3) -> Guard:
    return Guard(handler, topics=TOPICS, policy=RetryPolicy(attempts, 0.0, 0.0))


async def test_good_event_is_handled() -> None:
    env = good_event()
    enc = encode(env)
    out = await guard(Scripted()).run(delivery(enc.value, enc.headers))
    assert out.outputs == [env] and out.dead is None


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (b"{not json", "undecodable"),
        (None, "undecodable"),
        (b'{"event_type": "answer-teleported", "event_version": 1}', "unknown_event_type"),
        (
            b'{"event_type": "answer-submitted", "event_version": 1, "payload": {}}',
            "invalid_payload",
        ),
    ],
)
async def test_bad_messages_become_dead_letters(value: bytes | None, kind: str) -> None:
    handler = Scripted()
    out = await guard(handler).run(delivery(value, [("trace", b"abc")]))
    assert out.dead is not None and handler.calls == 0
    info = read_dead_letter(
        Delivery(out.dead.topic, 0, 0, out.dead.key, out.dead.value, tuple(out.dead.headers))
    )
    assert out.dead.topic == "unit.learning.dlq"
    assert info.kind == kind and info.agent == "scripted"
    assert (info.source_topic, info.source_partition, info.source_offset) == ("unit.learning", 2, 7)
    assert info.original == (value or b"")
    assert header(out.dead.headers, "trace") == "abc"  # original headers kept


async def test_other_types_are_skipped_by_header_without_decoding() -> None:
    out = await guard(Scripted()).run(delivery(b"garbage", [("event_type", b"failure-diagnosed")]))
    assert out.skipped and out.dead is None


async def test_retryable_errors_are_retried() -> None:
    handler = Scripted(RetryableError("429"), TimeoutError())
    out = await guard(handler).run(delivery(encode(good_event()).value))
    assert handler.calls == 3 and out.outputs and out.dead is None


async def test_retries_exhausted_is_a_dead_letter() -> None:
    handler = Scripted(*(ConnectionError("down") for _ in range(5)))
    out = await guard(handler, attempts=3).run(delivery(encode(good_event()).value))
    assert handler.calls == 3 and out.dead is not None
    assert header(out.dead.headers, "dlq.kind") == "retries_exhausted"
    assert "after 3 attempts" in (header(out.dead.headers, "dlq.reason") or "")


@pytest.mark.parametrize("exc", [PermanentError("bad input"), ValueError("boom")])
async def test_permanent_errors_are_dead_lettered_at_once(exc: Exception) -> None:
    handler = Scripted(exc)
    out = await guard(handler).run(delivery(encode(good_event()).value))
    assert handler.calls == 1 and out.dead is not None
    assert header(out.dead.headers, "dlq.kind") == "handler_failed"
    assert type(exc).__name__ in (header(out.dead.headers, "dlq.reason") or "")


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(None, 0.1, 1.0)
    delays = [policy.delay(n) for n in range(1, 8)]
    assert all(0.05 <= d <= 1.0 for d in delays)
    assert max(delays[:2]) <= 0.2 and delays[-1] >= 0.5
    assert not policy.exhausted(10_000)
