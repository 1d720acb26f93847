"""The same contract over each fake and the real adapter it stands in for.

Unit tests use the fakes; these tests prove the fakes behave like the real thing:
the content store (memory vs the Postgres read models) and the publisher (memory vs
the broker). The saga store's contract (memory vs a faust table, which faust only
lets a running agent write) is in test_saga_store_contract.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from events import Context, Envelope, decode, header
from events.content import AtomImported, ConceptImported
from events.sagas import SagaDeadlineReached
from projections.base import Applied
from projections.content import ContentProjection
from projections.db import make_engine
from projections.runner import setup_tables
from services.bus.consumer import Delivery
from services.bus.memory import InMemoryPublisher
from services.bus.producer import EventPublisher
from services.content.pack import load_pack
from services.remediation.store import ContentStore, MemoryContentStore, PostgresContentStore
from services.settings import Settings
from tests.support.helpers import answer_event, read_topic
from tests.support.jit import PACK

pytestmark = pytest.mark.integration

PACK_EVENTS = load_pack(PACK).events()
CONCEPTS = [
    e.payload_as(ConceptImported) for e in PACK_EVENTS if e.event_type == "concept-imported"
]
ATOMS = [e.payload_as(AtomImported).atom for e in PACK_EVENTS if e.event_type == "atom-imported"]


@pytest.fixture(params=["memory", "postgres"])
async def store(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[ContentStore]:
    if request.param == "memory":
        yield MemoryContentStore.of(CONCEPTS, ATOMS)
        return
    engine = make_engine(settings)
    projection = ContentProjection()
    await setup_tables(engine, projection)
    here = Delivery("t", 0, 0, None, b"", ())
    async with engine.begin() as conn:
        await projection.apply(conn, [Applied(here, e) for e in PACK_EVENTS])
    try:
        yield PostgresContentStore(engine)
    finally:
        await engine.dispose()


async def test_a_concept_and_its_siblings_in_the_order_asked(store: ContentStore) -> None:
    concept = next(c for c in CONCEPTS if len(c.siblings) >= 2)
    assert await store.concept(concept.concept_id) == concept
    siblings = await store.concepts(list(reversed(concept.siblings)))
    assert [s.concept_id for s in siblings] == list(reversed(concept.siblings))
    found, near, atoms = await store.snapshot(concept.concept_id)
    assert found == concept and [s.concept_id for s in near] == list(concept.siblings)
    assert {a.atom_id for a in atoms} == {
        a.atom_id for a in ATOMS if a.concept_id == concept.concept_id
    }
    assert atoms == await store.atoms(concept.concept_id)  # in the same order


async def test_unknown_concepts_are_absent_not_errors(store: ContentStore) -> None:
    nobody = uuid.uuid4()
    assert await store.concept(nobody) is None
    assert await store.concepts([nobody]) == []
    assert await store.atoms(nobody) == []
    assert await store.snapshot(nobody) == (None, [], [])


async def test_atom_counts_by_cluster_slug_or_id(store: ContentStore) -> None:
    def counted(rows: list[tuple[ConceptImported, int]]) -> dict[uuid.UUID, int]:
        return {c.concept_id: n for c, n in rows}

    every = counted(await store.atom_counts())
    assert len(every) == len(CONCEPTS) and sum(every.values()) == len(ATOMS)
    one = CONCEPTS[0]
    by_slug = counted(await store.atom_counts(cluster=one.cluster_slug))
    by_id = counted(await store.atom_counts(cluster=str(one.cluster_id)))
    assert by_slug == by_id and one.concept_id in by_slug
    assert all(c.cluster_slug == one.cluster_slug for c in CONCEPTS if c.concept_id in by_slug)


# the publisher ------------------------------------------------------------------------------
class _Broker:
    """The real publisher, read back from the topics it wrote."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.publisher = EventPublisher(settings, client_id="contract")

    async def published(self) -> list[tuple[str, Envelope]]:
        out = []
        for context in (Context.LEARNING, Context.DRILLS):
            topic = self.settings.topics().domain(context)
            for r in await read_topic(self.settings, topic):
                if header(r.headers, "event_type") is not None:
                    out.append((context.value, decode(r.value, headers=r.headers)))
        return out

    async def raw(self, topic: str) -> list[tuple[bytes | None, bytes | None]]:
        return [(r.key, r.value) for r in await read_topic(self.settings, topic)]


class _Memory:
    def __init__(self) -> None:
        self.publisher = InMemoryPublisher()

    async def published(self) -> list[tuple[str, Envelope]]:
        return [(c.value if c else "-", e) for c, e in self.publisher.events]

    async def raw(self, topic: str) -> list[tuple[bytes | None, bytes | None]]:
        return [(k, v) for t, k, v, _ in self.publisher.raw if t == topic]


@pytest.fixture(params=["memory", "broker"])
async def bus(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield _Memory()
        return
    broker = _Broker(settings)
    await broker.publisher.start()
    try:
        yield broker
    finally:
        await broker.publisher.stop()


async def test_each_event_goes_to_its_contexts_topic(bus: Any, settings: Settings) -> None:
    answers = [answer_event(f"l{i}") for i in range(3)]
    await bus.publisher.publish(answers)
    got = await bus.published()
    assert sorted((c, e.event_id) for c, e in got) == sorted(
        ("learning", e.event_id) for e in answers
    )
    assert {e.event_id: e for _, e in got} == {e.event_id: e for e in answers}


async def test_an_infrastructure_event_goes_where_the_caller_says(
    bus: Any, settings: Settings
) -> None:
    from datetime import UTC, datetime

    deadline = Envelope.new(
        SagaDeadlineReached(
            saga="s", instance_id="i", deadline="d", due_at=datetime(2026, 1, 1, tzinfo=UTC)
        ),
        source="test",
    )
    await bus.publisher.publish([deadline], context=Context.DRILLS)
    assert [(c, e.event_id) for c, e in await bus.published()] == [("drills", deadline.event_id)]


async def test_raw_bytes_are_sent_as_they_are(bus: Any, settings: Settings) -> None:
    topic = settings.topics().dlq(Context.LEARNING)
    await bus.publisher.send_raw(topic, b"k", b"{not json", [("dlq.reason", b"r")])
    assert await bus.raw(topic) == [(b"k", b"{not json")]
