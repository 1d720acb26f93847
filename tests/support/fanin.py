"""A fan-in saga used to test the saga primitive on a real faust worker.

It starts on the first ``batch-requested`` of an artifact, waits for every
batch's ``batch-completed`` with a deadline counted from the request's own
time, and publishes ``fan-in-settled`` once: complete, or timed out with the
batches still missing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import timedelta

from pydantic import Field

from events import CATALOG, Context, Envelope, Payload, event
from events.drills import BatchCompleted, BatchRequested
from events.sagas import SagaDeadlineReached
from services.runtime.saga import Saga, SagaState

__all__ = ["FanInSaga", "FanInSettled", "FanInState"]

if "fan-in-settled" not in CATALOG:

    @event("fan-in-settled", context=Context.DRILLS, key="artifact_id")
    class _FanInSettled(Payload):
        """Test event: the fan-in finished."""

        artifact_id: uuid.UUID
        total: int
        completed: list[int]
        missing: list[int]
        timed_out: bool
        drills: int = Field(ge=0)


FanInSettled = CATALOG.spec("fan-in-settled").payload


class FanInState(SagaState):
    artifact_id: uuid.UUID
    total: int
    completed: dict[int, int] = {}  # batch index -> drills generated


class FanInSaga(Saga[FanInState]):
    name = "fan-in"
    context = Context.DRILLS
    state_type = FanInState
    event_types = frozenset({BatchRequested.event_type, BatchCompleted.event_type})

    def __init__(self, timeout_s: float | None = None) -> None:
        self.timeout = timedelta(seconds=timeout_s or float(os.environ.get("FANIN_TIMEOUT_S", "30")))

    def _settled(
        self, state: FanInState, event: Envelope, completed: dict[int, int], timed_out: bool
    ) -> Envelope:
        payload = FanInSettled(
            artifact_id=state.artifact_id,
            total=state.total,
            completed=sorted(completed),
            missing=sorted(set(range(state.total)) - set(completed)),
            timed_out=timed_out,
            drills=sum(completed.values()),
        )
        return event.derive(payload, role="fan-in-settled", source="saga.fan-in")

    def decide(self, state: FanInState | None, event: Envelope) -> Sequence[Envelope]:
        if state is None or state.finished:
            return ()
        if isinstance(event.payload, BatchCompleted):
            done = {**state.completed, event.payload.batch_index: event.payload.drills_generated}
            if len(done) == state.total:
                return (self._settled(state, event, done, timed_out=False),)
        if isinstance(event.payload, SagaDeadlineReached):
            return (self._settled(state, event, state.completed, timed_out=True),)
        return ()

    def evolve(self, state: FanInState | None, event: Envelope) -> FanInState | None:
        p = event.payload
        if state is None:
            if not isinstance(p, BatchRequested):
                return None
            return FanInState(
                instance_id=event.key,
                correlation_id=event.correlation_id,
                artifact_id=p.artifact_id,
                total=p.total_batches,
                deadlines={"batches": event.occurred_at + self.timeout},
            )
        if state.finished:
            return state
        if isinstance(p, BatchCompleted):
            state = state.model_copy(
                update={"completed": {**state.completed, p.batch_index: p.drills_generated}}
            )
            if len(state.completed) == state.total:
                return state.model_copy(update={"finished": True, "deadlines": {}})
        if isinstance(p, SagaDeadlineReached):
            return state.model_copy(update={"finished": True})
        return state
