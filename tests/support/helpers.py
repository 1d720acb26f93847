"""Helpers shared by integration and e2e tests: polling, agents in-process, reading topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.bus.consumer import consumer_config
from services.bus.gaps import GapGuard
from services.bus.offsets import log_end_offsets
from services.settings import Settings

__all__ = ["background", "read_topic", "topic_size", "wait_until"]

T = TypeVar("T")


async def wait_until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until ``done(value)``; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        await asyncio.sleep(interval)


@asynccontextmanager
async def background(
    *mains: Callable[[asyncio.Event], Awaitable[None]],
) -> AsyncIterator[asyncio.Event]:
    """Run workers as tasks; stop them cleanly (and surface their errors) on exit."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(m(stop)) for m in mains]
    try:
        yield stop
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()  # type: ignore[misc]
    finally:
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]


async def read_topic(settings: Settings, topic: str, timeout: float = 5.0) -> list[Any]:
    """Every record currently in ``topic`` (all partitions), in partition/offset order."""
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        await reader.topics()
        parts = sorted(reader.partitions_for_topic(topic) or ())
        tps = [TopicPartition(topic, p) for p in parts]
        ends = await log_end_offsets(reader, tps)
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        gaps = GapGuard("test.read_topic")
        for tp in tps:
            gaps.expect(tp, 0)
        records: list[Any] = []
        pending = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            fetched = gaps.check(await reader.getmany(*pending, timeout_ms=200), reader)
            for tp, recs in fetched.items():
                records.extend(recs)
                if recs and recs[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await reader.stop()


async def topic_size(settings: Settings, topics: Sequence[str]) -> int:
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        await reader.topics()
        tps = [TopicPartition(t, p) for t in topics for p in (reader.partitions_for_topic(t) or ())]
        return sum((await log_end_offsets(reader, tps)).values())
    finally:
        await reader.stop()


def answer_event(
    learner: str = "ada",
    *,
    correct: bool = False,
    rt: int = 6000,
    concept: Any = None,
    occurred_at: Any = None,
    **payload: Any,
) -> Any:
    """An ``answer-submitted`` envelope with sensible defaults."""
    import uuid

    from events import Envelope
    from events.learning import AnswerSubmitted

    return Envelope.new(
        AnswerSubmitted(
            learner_id=learner,
            session_id=payload.pop("session_id", f"{learner}-s1"),
            concept_id=concept or uuid.uuid4(),
            question_id=payload.pop("question_id", "q1"),
            correct=correct,
            response_time_ms=rt,
            answer_given=payload.pop("answer_given", "x"),
            **payload,
        ),
        source="test",
        occurred_at=occurred_at,
    )


async def count_rows(engine: Any, table: str, where: str = "") -> int:
    from sqlalchemy import text

    from projections.db import schema_of

    sql = f'SELECT count(*) FROM "{schema_of(engine)}"."{table}" {where}'
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    except Exception as exc:  # table not created yet
        if "does not exist" in str(exc):
            return -1
        raise


async def query_rows(engine: Any, sql: str) -> list[Any]:
    """Rows of ``sql`` run in the engine's schema (empty while the tables do not exist)."""
    from sqlalchemy import text

    from projections.db import schema_of

    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(f'SET search_path TO "{schema_of(engine)}"')
            return list(await conn.execute(text(sql)))
    except Exception as exc:
        if "does not exist" in str(exc):
            return []
        raise


async def guarded(handler: Any, event: Any, offset: int = 0) -> list[Any]:
    """What a runner publishes for ``event``: the handler behind the guard (no waits between
    retries), its ``started`` events first, then its outputs or its failure report."""
    from events import TopicNames, encode
    from services.bus.consumer import Delivery
    from services.runtime.handler import Guard, RetryPolicy

    encoded = encode(event)
    delivery = Delivery("t.guarded", 0, offset, encoded.key, encoded.value, tuple(encoded.headers))
    attempts = getattr(handler, "max_attempts", None) or 5
    announced: list[Any] = []

    async def announce(events: Any) -> None:
        announced.extend(events)

    guard = Guard(handler, topics=TopicNames("t"), policy=RetryPolicy(attempts, 0.0, 0.0))
    outcome = await guard.run(delivery, announce)
    if outcome.dead is not None:
        raise AssertionError(f"dead-lettered: {outcome.dead.reason}")
    return [*announced, *outcome.outputs]
