"""The workflows read model against Postgres and the broker: every event of every domain
topic once, duplicates resolved the same whatever the order they are folded in, a rebuild
from the log equal to the live rows, and a workflow read back in causal order."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from events import Context, Envelope, encode
from events.learning import FailureDiagnosed
from projections.base import Applied
from projections.checksum import checksum
from projections.db import make_engine
from projections.replay import rebuild
from projections.runner import setup_tables
from projections.workflows import WORKFLOW_EVENTS, WorkflowsProjection, workflow_steps
from services.bus.consumer import Delivery
from services.bus.producer import EventPublisher
from services.settings import Settings
from tests.support.helpers import answer_event, background, count_rows, read_topic, wait_until
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration


def delivered(event: Envelope, topic: str, partition: int, offset: int) -> Applied:
    encoded = encode(event)
    return Applied(
        Delivery(topic, partition, offset, encoded.key, encoded.value, tuple(encoded.headers)),
        event,
    )


async def test_a_duplicate_keeps_its_first_log_position_in_any_order(settings: Settings) -> None:
    projection = WorkflowsProjection()
    engine = make_engine(settings)
    await setup_tables(engine, projection)
    event = answer_event("ada")
    later = delivered(event, "x.learning", 1, 5)
    earlier = delivered(event, "x.learning", 0, 9)  # (topic, partition, offset) sorts first
    rows: list[Any] = []
    try:
        for order in ([later, earlier], [earlier, later], [earlier, later, later]):
            async with engine.begin() as conn:
                await conn.execute(WORKFLOW_EVENTS.delete())
                for item in order:  # one batch each: as two projector batches would
                    await projection.apply(conn, [item])
            async with engine.connect() as conn:
                rows.append(list(await conn.execute(select(WORKFLOW_EVENTS))))
        async with engine.begin() as conn:  # and both in one batch
            await conn.execute(WORKFLOW_EVENTS.delete())
            await projection.apply(conn, [later, earlier])
        async with engine.connect() as conn:
            rows.append(list(await conn.execute(select(WORKFLOW_EVENTS))))
    finally:
        await engine.dispose()
    assert all(r == rows[0] for r in rows)
    ((row,),) = {tuple(r) for r in rows}
    assert (row.topic, row.partition, row.offset) == ("x.learning", 0, 9)
    assert row.correlation_id == event.correlation_id and row.causation_id is None
    assert row.model_calls == 0 and row.cost_usd is None


async def test_rebuilt_from_the_log_equals_live_and_reads_in_causal_order(
    settings: Settings,
) -> None:
    answers = [answer_event("ada", question_id=f"q{i}") for i in range(3)]
    answers.append(answer_event("bob", correct=True))
    projection = WorkflowsProjection()
    engine = make_engine(settings)
    try:
        async with background(projector(settings, "workflows"), agent(settings, "diagnoser")):
            async with EventPublisher(settings) as pub:
                await pub.publish(answers)
                await pub.publish(answers[:1])  # a duplicate: one row still
            await wait_until(
                lambda: count_rows(engine, "workflow_events"),
                lambda n: n == 4 + 3,  # four answers, three diagnoses
                what="answers and diagnoses folded",
            )
            log = await read_topic(settings, settings.topics().domain(Context.LEARNING))
            live, _ = await checksum(engine, projection)
            async with EventPublisher(settings) as pub:
                result = await rebuild(projection, settings=settings, engine=engine, publisher=pub)
            rebuilt, _ = await checksum(engine, projection)
            async with engine.connect() as conn:
                steps = await workflow_steps(conn, answers[0].correlation_id)
                unknown = await workflow_steps(conn, uuid.uuid4())
    finally:
        await engine.dispose()
    # five answers; the duplicate may be diagnosed again, with the same (derived) event id
    assert len(log) in (5 + 3, 5 + 4) and result.events == len(log)
    assert result.dead_letters == 0
    assert rebuilt == live
    assert [s.event_type for s in steps] == ["answer-submitted", "failure-diagnosed"]
    answer, diagnosis = steps
    assert diagnosis.causation_id == answer.event_id and diagnosis.depth == 1
    assert answer.depth == 0 and answer.since_cause_ms is None and answer.since_start_ms == 0
    assert diagnosis.since_cause_ms is not None and diagnosis.since_cause_ms >= 0
    assert diagnosis.source == "diagnoser" and diagnosis.key == "ada"
    assert FailureDiagnosed.event_type == diagnosis.event_type
    assert unknown == []
