"""The three kinds of bad input land in the DLQ with their reason; good events around them
flow; replay markers in a DLQ mark dead letters instead of becoming ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events import Context, encode
from projections.db import make_engine
from projections.dead_letters import dead_letters
from services.bootstrap import bootstrap
from services.bus.consumer import Delivery
from services.bus.producer import EventPublisher
from services.runtime.dead_letters import dead_letter_for, read_dead_letter
from services.runtime.dlq_replay import Original, Source, marker_for
from services.settings import Settings
from tests.support.helpers import answer_event, background, count_rows, read_topic, wait_until
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration


async def test_bad_messages_are_dead_lettered_and_good_ones_processed(settings: Settings) -> None:
    topic = settings.topics().domain(Context.LEARNING)
    goods = [answer_event(f"learner-{i}", correct=False) for i in range(4)]
    bad_payload = encode(goods[0]).value.replace(
        b'"response_time_ms":6000', b'"response_time_ms":-1'
    )
    bad = [
        (b"{this is not json", "undecodable", "not JSON"),
        (
            b'{"event_type":"answer-teleported","event_version":1,"payload":{}}',
            "unknown_event_type",
            "answer-teleported",
        ),
        (bad_payload, "invalid_payload", "payload.response_time_ms"),
    ]
    async with EventPublisher(settings) as pub:
        for i, good in enumerate(goods):
            await pub.publish([good])
            if i < len(bad):
                await pub.send_raw(topic, good.key.encode(), bad[i][0], [])

    readers = {"diagnoser"} | {
        f"projection.{p.name}"
        for p in bootstrap(settings).projections.values()
        if topic in p.topics(settings.topics())
    }
    engine = make_engine(settings)
    try:
        async with background(
            agent(settings, "diagnoser"),
            projector(settings),
        ):
            await wait_until(
                lambda: count_rows(engine, "diagnoses"),
                lambda n: n == 4,
                timeout=60,
                what="4 diagnoses",
            )
            # the diagnoser and every projection reading this topic each report
            # every bad message
            await wait_until(
                lambda: count_rows(engine, "dead_letters"),
                lambda n: n == len(readers) * len(bad),
                timeout=60,
                what=f"{len(readers) * len(bad)} dead letters",
            )
        assert await count_rows(engine, "attempts") == 4
    finally:
        await engine.dispose()

    records = await read_topic(settings, settings.topics().dlq(Context.LEARNING))
    infos = [read_dead_letter(Delivery.from_record(r)) for r in records]
    for value, kind, reason in bad:
        hits = [i for i in infos if i.original == value]
        assert {i.agent for i in hits} == readers and len(hits) == len(readers), kind
        assert all(i.kind == kind and reason in i.reason for i in hits), (
            kind,
            [i.reason for i in hits],
        )
        assert all(i.source_topic == topic for i in hits)
    source = {(r.partition, r.offset): r.value for r in await read_topic(settings, topic)}
    for info in infos:  # the recorded coordinates point at the original bytes
        assert source[(info.source_partition, info.source_offset)] == info.original


async def test_replay_markers_mark_dead_letters_in_any_order(settings: Settings) -> None:
    """A marker folds into ``replayed_at`` of every dead letter of its original, whether it
    is read before or after them; a marker that does not parse is kept as malformed."""
    topic = settings.topics().domain(Context.LEARNING)
    original = encode(answer_event("ada"))
    delivery = Delivery(topic, 2, 7, original.key, original.value, tuple(original.headers))
    letters = [
        dead_letter_for(
            delivery, topics=settings.topics(), agent=agent, kind="handler_failed", reason="boom"
        )
        for agent in ("diagnoser", "projection.learning")
    ]
    other = dead_letter_for(
        Delivery(topic, 2, 8, original.key, original.value, tuple(original.headers)),
        topics=settings.topics(),
        agent="diagnoser",
        kind="handler_failed",
        reason="boom",
    )
    src = Original(Source(topic, 2, 7), original.key, original.value, [], None, [])
    marker = marker_for(src, topics=settings.topics(), replayed_by="test", now=datetime.now(UTC))
    broken = [(k, b"2:x" if k == "dlq.replay_of" else v) for k, v in marker.headers]
    async with EventPublisher(settings) as pub:
        for d in [marker, *letters, other]:  # the marker first
            await pub.send_raw(d.topic, d.key, d.value, d.headers)
        await pub.send_raw(marker.topic, marker.key, marker.value, broken)

    engine = make_engine(settings)
    try:
        async with background(projector(settings, "dead_letters")):
            await wait_until(lambda: count_rows(engine, "dead_letters"), lambda n: n == 4)
            await wait_until(lambda: count_rows(engine, "dead_letter_replays"), lambda n: n == 1)
        async with engine.connect() as conn:
            rows = await dead_letters(conn)
            pending = await dead_letters(conn, replayed=False)
            done = await dead_letters(conn, replayed=True, agent="diagnoser")
    finally:
        await engine.dispose()
    marked = {(r.agent, r.source_offset) for r in rows if r.replayed_at is not None}
    assert marked == {("diagnoser", 7), ("projection.learning", 7)}
    assert {(r.agent, r.kind) for r in pending} == {
        ("diagnoser", "handler_failed"),
        ("unknown", "malformed_dead_letter"),
    }
    assert [(r.agent, r.source_offset) for r in done] == [("diagnoser", 7)]
    malformed = next(r for r in rows if r.kind == "malformed_dead_letter")
    assert "replay marker" in malformed.reason and "malformed" in malformed.reason
