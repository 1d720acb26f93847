"""The saga primitive with the in-memory store: offsets guard, deadlines, fan-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events import Envelope
from events.drills import (
    BatchCompleted,
)
from services.bus.consumer import Delivery
from services.bus.memory import InMemoryPublisher
from services.runtime.saga import InMemorySagaStore, SagaHandler
from tests.support.drills import ARTIFACT, requested
from tests.support.fanin import TIMEOUT_ERROR, FanInSaga, FanInState

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def completed(i: int) -> BatchCompleted:
    return BatchCompleted(
        artifact_id=ARTIFACT, batch_index=i, success=True, drills_generated=5, retry_count=0
    )


class Log:
    """Feeds events to a handler as if they were read from one partition."""

    def __init__(self, handler: SagaHandler) -> None:
        self.handler = handler
        self.offset = -1
        self.root = Envelope.new(requested(0), source="t", occurred_at=T0)

    async def feed(self, env: Envelope, offset: int | None = None) -> None:
        if offset is None:
            self.offset += 1
            offset = self.offset
        await self.handler.handle(env, Delivery("t.drills", 0, offset, None, b"", ()))

    def event(self, payload: object, role: str) -> Envelope:
        return self.root.derive(payload, role=role, source="t", occurred_at=T0)  # type: ignore[arg-type]


def make() -> tuple[SagaHandler, InMemorySagaStore, InMemoryPublisher, Log]:
    store = InMemorySagaStore(FanInState)
    pub = InMemoryPublisher()
    handler = SagaHandler(FanInSaga(timeout_s=60), store, pub)
    return handler, store, pub, Log(handler)


async def test_state_is_keyed_by_instance_and_remembers_its_offset() -> None:
    _, store, _, log = make()
    await log.feed(log.root)
    stored = store.get(str(ARTIFACT))
    assert stored is not None and stored.offset == 0
    assert isinstance(stored.state, FanInState) and stored.state.total == 3
    assert stored.state.deadlines == {"batches": T0 + timedelta(seconds=60)}


async def test_redelivered_events_are_not_applied_twice() -> None:
    _, store, _, log = make()
    await log.feed(log.root)
    done = log.event(completed(1), "c1")
    await log.feed(done)
    await log.feed(done, offset=1)  # redelivered after a restart
    state = store.get(str(ARTIFACT)).state  # type: ignore[union-attr]
    assert state.reported == [1]  # type: ignore[union-attr]


async def test_deadline_reports_missing_batches_once() -> None:
    handler, _, pub, log = make()
    await log.feed(log.root)
    await log.feed(log.event(completed(1), "c1"))
    assert handler.due_deadlines(T0 + timedelta(seconds=59)) == []
    due = handler.due_deadlines(T0 + timedelta(seconds=61))
    assert len(due) == 1 and due[0].key == str(ARTIFACT)
    assert handler.due_deadlines(T0 + timedelta(seconds=61))[0].event_id == due[0].event_id
    await log.feed(due[0])
    await log.feed(due[0])  # a duplicate deadline event is no longer pending
    failed = pub.of_type("batch-completed")
    assert sorted(e.payload.batch_index for e in failed) == [0, 2]  # type: ignore[attr-defined]
    assert all(e.payload.error == TIMEOUT_ERROR for e in failed)  # type: ignore[attr-defined]
    assert handler.due_deadlines(T0 + timedelta(hours=1)) == []


async def test_all_batches_in_time_clears_the_deadline() -> None:
    handler, store, pub, log = make()
    await log.feed(log.root)
    for i in range(3):
        await log.feed(log.event(completed(i), f"c{i}"))
    assert store.get(str(ARTIFACT)).state.finished  # type: ignore[union-attr]
    assert handler.due_deadlines(T0 + timedelta(hours=1)) == []
    assert pub.events == []


async def test_outputs_are_published_before_the_state_is_stored() -> None:
    handler, store, pub, log = make()
    await log.feed(log.root)
    deadline = handler.due_deadlines(T0 + timedelta(hours=1))[0]
    pub.fail_next = 1
    with pytest.raises(ConnectionError):
        await log.feed(deadline, offset=5)
    assert store.get(str(ARTIFACT)).offset == 0  # not advanced: the event will be retried
    await log.feed(deadline, offset=5)
    assert len(pub.of_type("batch-completed")) == 3
