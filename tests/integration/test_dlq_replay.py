"""Replaying dead letters: a reader that failed for good is fixed, its dead letter replayed;
the event is applied once, readers that had applied it skip it, a second replay republishes
nothing, the mark survives a rebuild; filters, dry runs, racing replays, the HTTP endpoint
and `nls dlq replay` in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from typer.testing import Result

from events import Context, Envelope, TopicNames, decode, derive_id, header
from events.learning import AnswerSubmitted
from projections.base import Applied
from projections.db import make_engine
from projections.replay import rebuild
from projections.runner import Projector
from services.api.app import create_app
from services.bootstrap import bootstrap
from services.bus.producer import EventPublisher
from services.runtime.dlq_replay import REPLAY_OF, ReplayFilter
from services.runtime.dlq_replayer import plan_dead_letter_replay, replay_dead_letters
from services.runtime.errors import PermanentError
from services.settings import Settings
from tests.support.cli import invoke
from tests.support.helpers import (
    answer_event,
    background,
    count_rows,
    query_rows,
    read_topic,
    topic_size,
    wait_until,
)
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration

AUTH = {"Authorization": "Bearer test-token"}
PROBE_AGENT = "projection.replay_probe"

_PROBE_METADATA = MetaData()
PROBE = Table(
    "replay_probe",
    _PROBE_METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("learner_id", String(128), nullable=False),
    Column("deliveries", Integer, nullable=False),
)


class FlakyProbe:
    """A reader of answers that fails for good on some learners until it is fixed.

    It counts deliveries per event id, so a test sees how often each event reached it.
    """

    name = "replay_probe"
    decodes = True
    tables = (PROBE,)
    volatile_columns: frozenset[str] = frozenset()
    partition_local = True

    def __init__(self, broken_for: set[str]) -> None:
        self.broken_for = broken_for

    def topics(self, names: TopicNames) -> list[str]:
        return [names.domain(Context.LEARNING)]

    def wants(self, event_type: str | None) -> bool:
        return event_type == AnswerSubmitted.event_type

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        rows = []
        for item in batch:
            answer = item.envelope.payload_as(AnswerSubmitted)
            if answer.learner_id in self.broken_for:
                raise PermanentError(
                    f"the probe cannot take {answer.learner_id}'s answers yet",
                    event_id=item.envelope.event_id,
                )
            rows.append(
                {
                    "event_id": item.envelope.event_id,
                    "learner_id": answer.learner_id,
                    "deliveries": 1,
                }
            )
        if rows:
            stmt = insert(PROBE).values(rows)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["event_id"], set_={"deliveries": PROBE.c.deliveries + 1}
                )
            )


async def run_probe(settings: Settings, probe: FlakyProbe, stop: asyncio.Event) -> None:
    engine = make_engine(settings)
    try:
        async with EventPublisher(settings, client_id="probe") as publisher:
            projector = Projector(probe, settings=settings, engine=engine, publisher=publisher)
            await projector.run(stop)
    finally:
        await engine.dispose()


async def deliveries(engine: AsyncEngine, learner: str) -> list[int]:
    rows = await query_rows(
        engine, f"SELECT deliveries FROM replay_probe WHERE learner_id = '{learner}'"
    )
    return [int(r[0]) for r in rows]


async def replayed_marks(engine: AsyncEngine) -> int:
    return await count_rows(engine, "dead_letter_replays")


@asynccontextmanager
async def poisoned(
    settings: Settings, *, undecodable: bool = False, learning: bool = False
) -> AsyncIterator[tuple[FlakyProbe, AsyncEngine, Envelope]]:
    """Three answers, one of which (learner "poison") the probe dead-letters; optionally an
    undecodable record too. The agents keep running inside the block; the probe is
    still broken when it starts."""
    probe = FlakyProbe({"poison"})
    concept = answer_event("x").payload.concept_id
    answers = [answer_event(name, concept=concept) for name in ("ada", "poison", "bob")]
    engine = make_engine(settings)
    names = ["dead_letters", *(["learning"] if learning else [])]
    try:
        async with background(
            agent(settings, "diagnoser"),
            projector(settings, *names),
            lambda stop: run_probe(settings, probe, stop),
        ):
            async with EventPublisher(settings) as pub:
                await pub.publish(answers)
                if undecodable:
                    topic = settings.topics().domain(Context.LEARNING)
                    await pub.send_raw(topic, b"ada", b"{broken", [])
            want = 2 if undecodable else 1  # probe: handler_failed (+ undecodable)
            await wait_until(
                lambda: count_rows(engine, "dead_letters", f"WHERE agent = '{PROBE_AGENT}'"),
                lambda n: n == want,
                timeout=60,
                what="the probe's dead letters",
            )
            await wait_until(
                lambda: count_rows(engine, "replay_probe"), lambda n: n == 2, timeout=60
            )
            if undecodable:
                await wait_until(
                    lambda: count_rows(engine, "dead_letters", "WHERE agent = 'diagnoser'"),
                    lambda n: n == 1,
                    timeout=60,
                )
            yield probe, engine, answers[1]
    finally:
        await engine.dispose()


async def learning_caught_up(settings: Settings, engine: AsyncEngine) -> None:
    topic = settings.topics().domain(Context.LEARNING)

    async def behind() -> int:
        end = await topic_size(settings, [topic])
        rows = await query_rows(
            engine,
            "SELECT coalesce(sum(next_offset), 0) FROM projection_checkpoints "
            f"WHERE projection = 'learning' AND topic = '{topic}'",
        )
        return end - int(rows[0][0]) if rows else end

    await wait_until(behind, lambda n: n == 0, timeout=60, what="learning to catch up")


async def copies_of(settings: Settings, event_id: Any) -> int:
    records = await read_topic(settings, settings.topics().domain(Context.LEARNING))
    return sum(
        1
        for r in records
        if header(r.headers or [], "event_type") is not None
        and decode(r.value, headers=r.headers).event_id == event_id
    )


async def test_a_dead_letter_is_replayed_once_and_applied_once(settings: Settings) -> None:
    topic = settings.topics().domain(Context.LEARNING)
    async with poisoned(settings, learning=True) as (probe, engine, poison):
        await learning_caught_up(settings, engine)
        assert await count_rows(engine, "attempts") == 3
        assert await count_rows(engine, "diagnoses") == 3
        probe.broken_for.clear()  # the reader is fixed

        async with EventPublisher(settings, client_id="replay") as pub:
            plan = await replay_dead_letters(
                settings, ReplayFilter(), publisher=pub, engine=engine, replayed_by="test"
            )
        assert [o.event_type for o in plan.originals] == ["answer-submitted"]
        assert [d.agent for d in plan.originals[0].dead_letters] == [PROBE_AGENT]
        assert await copies_of(settings, poison.event_id) == 2  # republished once

        # The fixed reader applies it, once.
        await wait_until(lambda: deliveries(engine, "poison"), lambda d: d == [1], timeout=60)
        # The diagnoser had applied it: it decides again and re-emits the same diagnosis
        # id, which the learning read model skips; attempts skip the answer's copy.
        diagnosis_id = derive_id(poison.event_id, "diagnosis")
        await wait_until(lambda: copies_of(settings, diagnosis_id), lambda n: n == 2, timeout=60)
        await learning_caught_up(settings, engine)
        assert await count_rows(engine, "attempts") == 3
        assert await count_rows(engine, "diagnoses") == 3
        standing = await query_rows(
            engine, "SELECT attempts FROM learner_concepts WHERE learner_id = 'poison'"
        )
        assert [r[0] for r in standing] == [1]
        await wait_until(lambda: replayed_marks(engine), lambda n: n == 1, timeout=60)

        # Replaying again republishes nothing.
        settled = await topic_size(settings, [topic])
        async with EventPublisher(settings, client_id="replay") as pub:
            again = await replay_dead_letters(
                settings, ReplayFilter(), publisher=pub, engine=engine, replayed_by="test"
            )
        assert again.originals == [] and [d.agent for d in again.already] == [PROBE_AGENT]
        assert await topic_size(settings, [topic]) == settled
        assert await copies_of(settings, poison.event_id) == 2
        assert await deliveries(engine, "poison") == [1]

    # The mark is in the log: a rebuild of the dead-letters read model keeps it.
    engine = make_engine(settings)
    try:
        async with EventPublisher(settings, client_id="rebuild") as pub:
            await rebuild(
                bootstrap(settings).projection("dead_letters"),
                settings=settings,
                engine=engine,
                publisher=pub,
            )
        rows = await query_rows(
            engine,
            "SELECT d.agent, r.replayed_by FROM dead_letters d JOIN dead_letter_replays r "
            "USING (source_topic, source_partition, source_offset)",
        )
        assert [(r[0], r[1]) for r in rows] == [(PROBE_AGENT, "test")]
    finally:
        await engine.dispose()
    markers = [
        r
        for r in await read_topic(settings, settings.topics().dlq(Context.LEARNING))
        if header(r.headers, REPLAY_OF) is not None
    ]
    assert len(markers) == 1 and markers[0].key == b"poison"


async def test_filters_dry_runs_and_racing_replays(settings: Settings) -> None:
    topic = settings.topics().domain(Context.LEARNING)
    async with poisoned(settings, undecodable=True) as (probe, engine, _):
        probe.broken_for.clear()

        async def plan(**filters: Any) -> tuple[list[str], int]:
            p = await plan_dead_letter_replay(settings, ReplayFilter(**filters))
            kinds = sorted(d.kind for o in p.originals for d in o.dead_letters)
            return kinds, len(p.originals)

        assert await plan() == (["handler_failed", "undecodable", "undecodable"], 2)
        assert await plan(kind="handler_failed") == (["handler_failed"], 1)
        assert await plan(agent="diagnoser") == (["undecodable"], 1)
        assert await plan(agent="diagnoser", kind="handler_failed") == ([], 0)
        assert await plan(since=datetime.now(UTC) - timedelta(hours=1)) == (
            ["handler_failed", "undecodable", "undecodable"],
            2,
        )
        assert await plan(since=datetime.now(UTC) + timedelta(minutes=5)) == ([], 0)

        # Two replays racing: the second waits for the first and finds its marker.
        before = await topic_size(settings, [topic])
        async with EventPublisher(settings, client_id="replay") as pub:
            results = await asyncio.gather(
                *(
                    replay_dead_letters(
                        settings,
                        ReplayFilter(kind="handler_failed"),
                        publisher=pub,
                        engine=engine,
                        replayed_by=f"racer-{i}",
                    )
                    for i in range(2)
                )
            )
        assert sorted(len(r.originals) for r in results) == [0, 1]
        assert sorted(len(r.already) for r in results) == [0, 1]
        await wait_until(lambda: deliveries(engine, "poison"), lambda d: d == [1], timeout=60)
        assert await topic_size(settings, [topic]) >= before + 1
        remaining = await plan_dead_letter_replay(settings, ReplayFilter())
        assert [o.source.topic for o in remaining.originals] == [topic]  # the undecodable one
        assert {(d.agent, d.kind) for d in remaining.already} == {(PROBE_AGENT, "handler_failed")}
        assert remaining.tally()[(PROBE_AGENT, "handler_failed")] == (0, 1)


async def test_the_api_replays_with_the_same_filters(settings: Settings) -> None:
    topic = settings.topics().domain(Context.LEARNING)
    async with poisoned(settings) as (probe, engine, _):
        probe.broken_for.clear()
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
                before = await topic_size(settings, [topic])
                dry = await c.post(
                    "/v1/dead-letters/replay", json={"dry_run": True, "since": "1h"}, headers=AUTH
                )
                assert dry.status_code == 200, dry.text
                assert dry.json()["dry_run"] is True and dry.json()["replayed"] == 1
                assert await topic_size(settings, [topic]) == before  # nothing published

                bad = await c.post("/v1/dead-letters/replay", json={"since": "1y"}, headers=AUTH)
                assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
                    "body",
                    "since",
                ]
                none = await c.post(
                    "/v1/dead-letters/replay", json={"agent": "diagnoser"}, headers=AUTH
                )
                assert none.json()["replayed"] == 0

                r = await c.post(
                    "/v1/dead-letters/replay", json={"kind": "handler_failed"}, headers=AUTH
                )
                body = r.json()
                assert r.status_code == 200 and body["dry_run"] is False
                assert body["replayed"] == 1 and body["dead_letters"] == 1
                assert body["originals"][0]["source_topic"] == topic
                assert body["originals"][0]["agents"] == [PROBE_AGENT]
                assert body["by_agent_kind"] == [
                    {
                        "agent": PROBE_AGENT,
                        "kind": "handler_failed",
                        "replayed": 1,
                        "already_replayed": 0,
                    }
                ]
                await wait_until(
                    lambda: deliveries(engine, "poison"), lambda d: d == [1], timeout=60
                )
                again = (await c.post("/v1/dead-letters/replay", json={}, headers=AUTH)).json()
                assert again["replayed"] == 0 and again["already_replayed"] == 1

                async def listed(replayed: str) -> list[Any]:
                    r = await c.get(f"/v1/dead-letters?replayed={replayed}", headers=AUTH)
                    return list(r.json())

                done = await wait_until(lambda: listed("true"), lambda rows: len(rows) == 1)
                assert done[0]["agent"] == PROBE_AGENT and done[0]["replayed_at"] is not None
                assert await listed("false") == []


async def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str, answer: str | None = None
) -> Result:
    """``nls ARGS`` in-process, against this test's broker, topics and schema."""
    return await invoke(settings, *args, answer=answer)


def said(result: Result) -> str:
    return " ".join(result.output.split())


async def test_nls_dlq_replay_in_process(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = settings.topics().domain(Context.LEARNING)
    async with poisoned(settings) as (probe, engine, poison):
        probe.broken_for.clear()
        before = await topic_size(settings, [topic])

        dry = await cli(settings, monkeypatch, "dlq", "replay", "--dry-run", "--since", "2h")
        assert dry.exit_code == 0, dry.output
        assert "dry run: 1 event(s) would be republished (1 dead letter(s))" in said(dry)
        assert "answer-submitted" in dry.output and PROBE_AGENT in dry.output

        declined = await cli(settings, monkeypatch, "dlq", "replay", answer="n\n")
        assert declined.exit_code == 1
        assert "not confirmed: nothing replayed" in said(declined)
        assert await topic_size(settings, [topic]) == before

        bad = await cli(settings, monkeypatch, "dlq", "replay", "--since", "yesterday")
        assert bad.exit_code == 2 and "--since 'yesterday'" in said(bad)

        done = await cli(
            settings, monkeypatch, "dlq", "replay", "--kind", "handler_failed", answer="y\n"
        )
        assert done.exit_code == 0, done.output
        text = said(done)
        assert "Republish 1 event(s) to their source topics?" in text
        assert "replayed 1 event(s) (1 dead letter(s)); already replayed: 0" in text
        assert "by agent and kind" in text and "handler_failed" in text
        await wait_until(lambda: deliveries(engine, "poison"), lambda d: d == [1], timeout=60)

        again = await cli(settings, monkeypatch, "dlq", "replay", "--yes")
        assert again.exit_code == 0
        assert "nothing to replay: 1 matching dead letter(s) already replayed" in said(again)
        assert await copies_of(settings, poison.event_id) == 2  # the original and one replay

        await wait_until(lambda: replayed_marks(engine), lambda n: n == 1, timeout=60)
        listed = await cli(settings, monkeypatch, "dlq", "list")
        assert listed.exit_code == 0
        row = next(line for line in listed.output.splitlines() if PROBE_AGENT in line)
        times = [cell.strip() for cell in row.split("│") if cell.strip().count(":") == 2]
        assert len(times) == 2, row  # failed at, and replayed at
