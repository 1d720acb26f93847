"""The drill series fan-in: waits for every batch with a deadline, then finishes the series.

Pure (``decide``/``evolve`` on the saga primitive). It learns the batches and
each drill's ground truth from ``batch-requested`` (the positions carry gnubg's
ranked plays), collects ``batch-completed``, and when all batches reported or the
deadline passed it emits ``drill-series-completed``: the artifact rebuilt from
the drills ordered by index, the outcome of ``series.outcome``, and what
verification against the ground truth found. When batches failed it logs the
seed's warning, "[Drill Series <id>] N/M batches failed".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import structlog

from events import Context, Envelope
from events.drills import (
    BatchCompleted,
    BatchRequested,
    CandidateMove,
    Drill,
    DrillSeriesCompleted,
    SeriesStatus,
)
from events.sagas import SagaDeadlineReached
from services.drills.drills import check
from services.drills.series import outcome
from services.runtime.saga import Saga, SagaState

__all__ = ["DEFAULT_DEADLINE", "DrillSeriesSaga", "DrillSeriesState"]

log = structlog.get_logger(__name__)

DEFAULT_DEADLINE = timedelta(minutes=8)


class DrillSeriesState(SagaState):
    artifact_id: uuid.UUID
    total: int
    truth: dict[str, list[CandidateMove]] = {}  # by drill index
    results: dict[str, bool] = {}  # by batch index
    drills: list[Drill] = []


class DrillSeriesSaga(Saga[DrillSeriesState]):
    name = "drill-series"
    context = Context.DRILLS
    state_type = DrillSeriesState
    event_types = frozenset({BatchRequested.event_type, BatchCompleted.event_type})

    def decide(self, state: DrillSeriesState | None, event: Envelope) -> Sequence[Envelope]:
        after = self.evolve(state.model_copy(deep=True) if state else None, event)
        if after is None or state is None or state.finished or not after.finished:
            return ()
        deadline = isinstance(event.payload, SagaDeadlineReached)
        results = {int(k): v for k, v in after.results.items()}
        result = outcome(after.total, results, deadline_passed=deadline)
        assert result is not None  # finished means every batch reported or the deadline
        drills = sorted(after.drills, key=lambda d: d.index)
        disagreements = [p for d in drills for p in check(d, after.truth.get(str(d.index), []))]
        if result.failed:
            # Logged where the outcome is decided (the seed's console.warn); decide runs
            # once per event, so a restart at most repeats the line, never the effect.
            log.warning(
                f"[Drill Series {after.artifact_id}] {len(result.failed)}/{after.total} "
                "batches failed",
                artifact_id=str(after.artifact_id),
                failed_batches=result.failed,
                failed=len(result.failed),
                total_batches=after.total,
                status=result.status,
                deadline_passed=deadline,
                drills=len(drills),
            )
        return [
            event.derive(
                DrillSeriesCompleted(
                    artifact_id=after.artifact_id,
                    status=SeriesStatus(result.status),
                    total_batches=after.total,
                    failed_batches=result.failed,
                    warning=result.warning,
                    drills=drills,
                    disagreements=disagreements[:200],
                ),
                role="series-completed",
                source=f"saga.{self.name}",
            )
        ]

    def evolve(self, state: DrillSeriesState | None, event: Envelope) -> DrillSeriesState | None:
        p = event.payload
        if isinstance(p, BatchRequested):
            if state is None:
                due = p.deadline_at or event.occurred_at + DEFAULT_DEADLINE
                state = DrillSeriesState(
                    instance_id=event.key,
                    correlation_id=event.correlation_id,
                    artifact_id=p.artifact_id,
                    total=p.total_batches,
                    deadlines={"batches": due},
                )
            truth = dict(state.truth)
            for index, position in zip(p.drill_indices, p.positions, strict=False):
                truth[str(index)] = list(position.candidate_moves)
            return state.model_copy(update={"truth": truth})
        if state is None or state.finished:
            return state
        if isinstance(p, BatchCompleted) and str(p.batch_index) not in state.results:
            results = {**state.results, str(p.batch_index): p.success}
            done = len(results) == state.total
            return state.model_copy(
                update={
                    "results": results,
                    "drills": [*state.drills, *p.drills],
                    "finished": done,
                    "deadlines": {} if done else state.deadlines,
                }
            )
        if isinstance(p, SagaDeadlineReached):
            return state.model_copy(update={"finished": True, "deadlines": {}})
        return state
