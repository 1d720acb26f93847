"""Projectors apply each event once, whatever is redelivered; replay rebuilds the same rows."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Column, Integer, String, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Context, TopicNames
from projections import replay
from projections.base import Applied
from projections.checksum import checksum
from projections.db import METADATA, make_engine
from projections.learning import LearningProjection
from projections.replay import rebuild
from projections.runner import Projector, fold_batch, setup_tables
from services.bus.consumer import Delivery, consumer_config
from services.bus.memory import InMemoryPublisher
from services.bus.producer import EventPublisher
from services.settings import Settings
from tests.support.helpers import answer_event, background, count_rows, query_rows, wait_until
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration


async def fetch_all(settings: Settings, topic: str) -> dict[TopicPartition, list[Delivery]]:
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        await reader.topics()
        tps = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        out: dict[TopicPartition, list[Delivery]] = {}
        for _ in range(10):
            for tp, recs in (await reader.getmany(timeout_ms=300)).items():
                out.setdefault(tp, []).extend(Delivery.from_record(r) for r in recs)
        return out
    finally:
        await reader.stop()


async def rows(engine: object, sql: str) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return [tuple(r) for r in await conn.execute(text(sql))]


async def test_redelivered_batches_and_duplicate_events_apply_once(settings: Settings) -> None:
    events = [answer_event(f"l{i % 5}", correct=i % 3 == 0) for i in range(60)]
    async with EventPublisher(settings) as pub:
        await pub.publish(events)
        await pub.publish(events[:10])  # the same events published again (a producer retry)
    projection = LearningProjection()
    engine = make_engine(settings)
    try:
        await setup_tables(engine, projection)
        batch = await fetch_all(settings, settings.topics().domain(Context.LEARNING))
        assert sum(len(v) for v in batch.values()) == 70
        fake = InMemoryPublisher()

        async def ignore_dead(dead: object) -> None:
            await fake.send_raw("x", None, None, [])

        first = await fold_batch(
            engine,
            projection,
            batch,
            topics=settings.topics(),
            send_dead=ignore_dead,
        )
        assert first.applied == 70 and not first.dead
        before = await checksum(engine, projection)
        # Redelivery of the same offsets (a crash before the consumer commit).
        again = await fold_batch(
            engine,
            projection,
            batch,
            topics=settings.topics(),
            send_dead=ignore_dead,
        )
        assert again.applied == 0
        assert await checksum(engine, projection) == before
        assert await count_rows(engine, "attempts") == 60
        per_learner = await rows(
            engine, f'SELECT sum(attempts) FROM "{settings.db_schema}".learner_concepts'
        )
        assert per_learner == [(60,)]
        # A projector on a brand-new consumer group starts from Postgres, not from Kafka.
        async with background(projector(settings, "learning")):
            await wait_until(
                lambda: checksum(engine, projection), lambda c: c == before, timeout=20
            )
            async with EventPublisher(settings) as pub:
                await pub.publish([answer_event("l-new")])
            await wait_until(lambda: count_rows(engine, "attempts"), lambda n: n == 61, timeout=30)
    finally:
        await engine.dispose()


async def test_replay_equals_live_and_swaps_under_a_running_projector(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(settings)
    projection = LearningProjection()
    try:
        async with background(
            agent(settings, "diagnoser"),
            projector(settings, "learning"),
        ):
            async with EventPublisher(settings) as pub:
                await pub.publish(
                    [
                        answer_event(f"l{i % 7}", correct=i % 2 == 0, rt=500 + i * 100)
                        for i in range(200)
                    ]
                )
            await wait_until(
                lambda: count_rows(engine, "diagnoses"), lambda n: n == 100, timeout=60
            )
            live, _ = await checksum(engine, projection)
            async with EventPublisher(settings) as pub:
                result = await rebuild(
                    projection, settings=settings, engine=engine, publisher=pub, workers=2
                )
            assert result.applied == 300 and result.dead_letters == 0
            # a log this small is folded here: no child process was started for it
            assert multiprocessing.active_children() == []
            assert (await checksum(engine, projection))[0] == live
            # The running projector keeps going on the swapped-in tables.
            async with EventPublisher(settings) as pub:
                await pub.publish([answer_event("after-swap", correct=False)])
            await wait_until(
                lambda: count_rows(engine, "diagnoses"), lambda n: n == 101, timeout=60
            )
            after_live, _ = await checksum(engine, projection)
        # In parallel: this process and a child each fold half of the partitions.
        monkeypatch.setattr(replay, "PARALLEL_MIN_EVENTS", 0)
        seen: list[tuple[int, int]] = []
        async with EventPublisher(settings) as pub:
            result = await rebuild(
                projection,
                settings=settings,
                engine=engine,
                publisher=pub,
                workers=2,
                progress=lambda done, total: seen.append((done, total)),
            )
        assert result.applied == 302
        assert (await checksum(engine, projection))[0] == after_live
        assert seen[-1][0] == seen[-1][1] and len(seen) >= 2
        schemas = await rows(
            engine,
            "SELECT nspname FROM pg_namespace "
            "WHERE nspname LIKE '%%__rebuild_%%' OR nspname LIKE '%%__old_%%'",
        )
        assert schemas == []
    finally:
        await engine.dispose()


# A projection whose apply fails for one event: that event is dead-lettered, the rest applied.
POISON_TABLE = Table(
    "poison_probe", METADATA, Column("event_id", String(36), primary_key=True), Column("n", Integer)
)


class PoisonSensitive:
    name = "poison_probe"
    decodes = True
    tables = (POISON_TABLE,)
    volatile_columns: frozenset[str] = frozenset()
    partition_local = True

    def topics(self, names: TopicNames) -> list[str]:
        return [names.domain(Context.LEARNING)]

    def wants(self, event_type: str | None) -> bool:
        return event_type == "answer-submitted"

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        for item in batch:
            if item.envelope.payload.answer_given == "poison":  # type: ignore[attr-defined]
                raise ValueError("cannot project this answer")
            await conn.execute(
                POISON_TABLE.insert().values(event_id=str(item.envelope.event_id), n=1)
            )


async def test_a_poison_event_in_a_projection_is_isolated(settings: Settings) -> None:
    events = [answer_event(f"p{i}", answer_given="poison" if i == 3 else "ok") for i in range(8)]
    async with EventPublisher(settings) as pub:
        await pub.publish(events)
    engine = make_engine(settings)
    fake = InMemoryPublisher()
    try:
        projector = Projector(PoisonSensitive(), settings=settings, engine=engine, publisher=fake)
        async with background(projector.run):
            await wait_until(
                lambda: count_rows(engine, "poison_probe"), lambda n: n == 7, timeout=30
            )
            await wait_until(lambda: _len(fake.raw), lambda n: n == 1, timeout=10)
        topic, _, value, headers = fake.raw[0]
        assert topic == settings.topics().dlq(Context.LEARNING)
        assert dict(headers)["dlq.kind"] == b"handler_failed"
        assert b"cannot project this answer" in dict(headers)["dlq.reason"]
        assert str(events[3].event_id).encode() in (value or b"")
    finally:
        await engine.dispose()


async def _len(items: list[object]) -> int:
    return len(items)


async def test_events_a_read_model_ignores_cost_no_write_and_lose_no_position(
    settings: Settings,
) -> None:
    """The remediation read model folds plans only: the answers around them on its
    topic are read past without a transaction, the plans still land once, and the
    checkpoint reaches the log's end when the topic goes quiet, across a restart."""
    from services.diagnosis.agent import Diagnoser
    from services.remediation.planning import for_diagnosis, plan_event

    async def plan_for(learner: str) -> Any:
        answer = answer_event(learner, rt=6000)
        (diagnosis,) = await Diagnoser().handle(answer, None)  # type: ignore[arg-type]
        plan = for_diagnosis(diagnosis, [], enable_jit=False)
        return plan_event(diagnosis, plan, source="test")  # type: ignore[arg-type]

    async def position() -> int:
        found = await query_rows(
            engine,
            "SELECT coalesce(sum(next_offset), 0) AS n FROM projection_checkpoints "
            "WHERE projection = 'remediation'",
        )
        return int(found[0].n) if found else 0  # no table before the projector starts

    engine = make_engine(settings)
    try:
        async with background(projector(settings, "remediation")):
            async with EventPublisher(settings) as pub:
                await pub.publish([answer_event(f"a{i}") for i in range(30)])
                await wait_until(position, lambda n: n == 30, timeout=30, what="read past")
                await pub.publish([await plan_for("p1")])
                await pub.publish([answer_event(f"b{i}") for i in range(20)])
                await pub.publish([await plan_for("p2")])
                await pub.publish([answer_event(f"c{i}") for i in range(10)])
            await wait_until(position, lambda n: n == 62, timeout=30, what="the log's end")
            assert await count_rows(engine, "remediation_plans") == 2
        # A restarted projector starts where Postgres says, and folds nothing twice.
        async with background(projector(settings, "remediation")):
            async with EventPublisher(settings) as pub:
                await pub.publish([answer_event("d0"), await plan_for("p3")])
            await wait_until(
                lambda: count_rows(engine, "remediation_plans"), lambda n: n == 3, timeout=30
            )
            await wait_until(position, lambda n: n == 64, timeout=30, what="the log's end")
        learners = await query_rows(
            engine, "SELECT learner_id FROM remediation_plans ORDER BY learner_id"
        )
        assert [r.learner_id for r in learners] == ["p1", "p2", "p3"]
    finally:
        await engine.dispose()


async def test_a_request_answered_twice_keeps_the_first_answers_atoms(settings: Settings) -> None:
    """A diagnosis or request generated anew after a redelivery (a model answers
    differently each time) carries the same event id and request: its second set of
    atoms is not stored next to the first."""
    import uuid

    from events import Envelope, encode
    from events.content import AtomsGenerated, AtomType, ContentType, GenerationTrigger
    from projections.content import ContentProjection
    from services.remediation.rules import AtomTask, make_atoms
    from tests.support.content import EIGRP, OSPF, RIP

    def answer(request_id: uuid.UUID, *types: AtomType) -> Envelope:
        made = make_atoms(AtomTask(OSPF, (EIGRP, RIP), ContentType.PRACTICE, types, 2))
        return Envelope.new(
            AtomsGenerated(
                request_event_id=request_id,
                concept_id=OSPF.concept_id,
                trigger=GenerationTrigger.USER_REQUEST,
                content_types=[ContentType.PRACTICE],
                atoms=made,
                generation_time_ms=5,
            ),
            source="test",
        )

    def deliveries(events: list[Envelope], first: int) -> list[Delivery]:
        out = []
        for i, e in enumerate(events):
            enc = encode(e)
            out.append(Delivery("t", 0, first + i, enc.key, enc.value, tuple(enc.headers)))
        return out

    once, other = uuid.uuid4(), uuid.uuid4()
    first = answer(once, AtomType.FLASHCARD)
    again = answer(once, AtomType.MCQ).model_copy(update={"event_id": first.event_id})
    projection = ContentProjection()
    engine = make_engine(settings)

    async def no_dead(dead: object) -> None:
        raise AssertionError(f"unexpected dead letters: {dead}")

    try:
        await setup_tables(engine, projection)
        tp = TopicPartition("t", 0)
        # In one batch, and in a later one: the first answer's atoms only.
        batch = deliveries([first, again], 0)
        await fold_batch(
            engine, projection, {tp: batch}, topics=settings.topics(), send_dead=no_dead
        )
        later = deliveries([again, answer(other, AtomType.MCQ)], 2)
        await fold_batch(
            engine, projection, {tp: later}, topics=settings.topics(), send_dead=no_dead
        )
        stored = await query_rows(
            engine, "SELECT request_event_id, atom_type FROM learning_atoms ORDER BY 1, 2"
        )
        assert sorted((r.request_event_id, r.atom_type) for r in stored) == sorted(
            [(once, "flashcard")] * 2 + [(other, "mcq")] * 2
        )
    finally:
        await engine.dispose()


async def test_plans_agree_with_the_atoms_stored_whatever_was_redelivered(
    settings: Settings,
) -> None:
    """The remediation agent crashed after its atoms-generated was acknowledged and
    before the plan was sent; the redelivered diagnosis was generated anew (other
    atoms, the same event ids), or found its atoms and planned at once. In any order,
    the plan lists the atoms of the first atoms-generated, the ones stored."""

    from events import Envelope, encode
    from events.content import AtomsGenerated, AtomType, ContentType, GenerationTrigger
    from events.learning import FailMode
    from projections.content import ContentProjection
    from projections.remediation import RemediationProjection
    from services.remediation.planning import after_generation, for_diagnosis, plan_event
    from services.remediation.rules import AtomTask, make_atoms
    from tests.support.content import EIGRP, OSPF, RIP
    from tests.unit.test_remediation_decisions import diagnosis

    d = diagnosis(FailMode.ENCODING_ERROR)
    asked = for_diagnosis(d, [], enable_jit=True)

    def generation(*types: AtomType) -> Envelope:
        made = make_atoms(AtomTask(OSPF, (EIGRP, RIP), ContentType.PRACTICE, types, 5))
        return d.derive(
            AtomsGenerated(
                request_event_id=d.event_id,
                concept_id=OSPF.concept_id,
                trigger=GenerationTrigger.FAILED_QUESTION,
                content_types=[ContentType.PRACTICE],
                atoms=made,
                generation_time_ms=5,
                remediation=asked.remediation,  # type: ignore[union-attr]
            ),
            role="atoms-generated",
            source="remediation",
        )

    first, anew = generation(AtomType.FLASHCARD), generation(AtomType.MCQ)
    assert first.event_id == anew.event_id
    late_plan = after_generation(anew, source="remediation")
    at_once = plan_event(d, for_diagnosis(d, [], enable_jit=False), source="remediation")  # type: ignore[arg-type]
    first_ids = {str(a.atom_id) for a in first.payload.atoms}  # type: ignore[attr-defined]

    async def no_dead(dead: object) -> None:
        raise AssertionError(f"unexpected dead letters: {dead}")

    engine = make_engine(settings)
    try:
        for order in ([at_once, first, anew, late_plan], [first, late_plan, at_once, anew]):
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.db_schema}" CASCADE'))
            for projection in (ContentProjection(), RemediationProjection()):
                await setup_tables(engine, projection)
                batch = []
                for i, e in enumerate(order):
                    enc = encode(e)  # type: ignore[arg-type]
                    batch.append(Delivery("t", 0, i, enc.key, enc.value, tuple(enc.headers)))
                for single in batch:  # one batch each: the worst interleaving
                    await fold_batch(
                        engine,
                        projection,
                        {TopicPartition("t", 0): [single]},
                        topics=settings.topics(),
                        send_dead=no_dead,
                    )
            (plan,) = await query_rows(engine, "SELECT atoms, jit_requested FROM remediation_plans")
            stored = await query_rows(engine, "SELECT id FROM learning_atoms")
            assert {str(r.id) for r in stored} == first_ids, order
            assert plan.jit_requested and {a["atom_id"] for a in plan.atoms} == first_ids, order
    finally:
        await engine.dispose()


async def test_setup_creates_every_read_model_and_upgrades_old_checkpoints(
    settings: Settings,
) -> None:
    """A database from before the checkpoints knew their log: the projector's one setup
    adds the columns, creates each read model's tables, and a second setup changes
    nothing (no lock on the checkpoints every projection writes)."""
    from projections.remediation import RemediationProjection

    engine = make_engine(settings)
    schema = settings.db_schema
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.execute(
                text(
                    f'CREATE TABLE "{schema}".projection_checkpoints (projection varchar(100), '
                    "topic varchar(255), partition int, next_offset bigint NOT NULL, "
                    "PRIMARY KEY (projection, topic, partition))"
                )
            )
            await conn.execute(
                text(f'INSERT INTO "{schema}".projection_checkpoints VALUES (:p, :t, 0, 7)'),
                {"p": "learning", "t": "t"},
            )
        projections = (LearningProjection(), RemediationProjection())
        await setup_tables(engine, *projections)
        columns = await rows(
            engine,
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = 'projection_checkpoints'",
        )
        assert {c for (c,) in columns} >= {"next_offset", "log_id", "last_fingerprint"}
        assert await rows(
            engine, f'SELECT next_offset, log_id FROM "{schema}".projection_checkpoints'
        ) == [(7, None)]
        for p in projections:
            for table in p.tables:
                assert await count_rows(engine, table.name) == 0

        async with engine.connect() as watcher:
            # a reader of the checkpoints does not hold up a setup that has nothing to add
            await watcher.execute(text(f'SELECT 1 FROM "{schema}".projection_checkpoints'))
            await asyncio.wait_for(setup_tables(engine, *projections), 10)
            await watcher.rollback()
    finally:
        await engine.dispose()
