"""A fan-in saga used to test the saga primitive on a real faust worker.

It starts on the first ``batch-requested`` of an artifact and waits for every
batch's ``batch-completed``, with a deadline counted from the request's own
time. When the deadline passes first, it reports each batch still missing as
failed (``batch-completed`` with success false), once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import timedelta

from events import Context, Envelope
from events.drills import BatchCompleted, BatchRequested
from events.sagas import SagaDeadlineReached
from services.runtime.saga import Saga, SagaState

__all__ = ["TIMEOUT_ERROR", "FanInSaga", "FanInState"]

TIMEOUT_ERROR = "no result before the deadline"


class FanInState(SagaState):
    artifact_id: uuid.UUID
    total: int
    reported: list[int] = []


class FanInSaga(Saga[FanInState]):
    name = "fan-in"
    context = Context.DRILLS
    state_type = FanInState
    event_types = frozenset({BatchRequested.event_type, BatchCompleted.event_type})

    def __init__(self, timeout_s: float | None = None) -> None:
        seconds = timeout_s or float(os.environ.get("FANIN_TIMEOUT_S", "30"))
        self.timeout = timedelta(seconds=seconds)

    def decide(self, state: FanInState | None, event: Envelope) -> Sequence[Envelope]:
        if state is None or state.finished or not isinstance(event.payload, SagaDeadlineReached):
            return ()
        missing = sorted(set(range(state.total)) - set(state.reported))
        return [
            event.derive(
                BatchCompleted(
                    artifact_id=state.artifact_id,
                    batch_index=i,
                    success=False,
                    drills_generated=0,
                    error=TIMEOUT_ERROR,
                    retry_count=0,
                ),
                role=f"timeout:{i}",
                source="saga.fan-in",
            )
            for i in missing
        ]

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
        if isinstance(p, BatchCompleted) and p.batch_index not in state.reported:
            reported = sorted([*state.reported, p.batch_index])
            done = len(reported) == state.total
            return state.model_copy(
                update={
                    "reported": reported,
                    "finished": done,
                    "deadlines": {} if done else state.deadlines,
                }
            )
        if isinstance(p, SagaDeadlineReached):
            return state.model_copy(update={"finished": True, "deadlines": {}})
        return state
