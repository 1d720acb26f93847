"""The drill series agents, behind the common handler contract.

- ``SeriesOrchestrator`` (batched consumer): ``drill-series-requested`` -> loads the
  positions it needs (Phase 1, logging the tokens saved) from the positions read
  model and emits one ``batch-requested`` per batch (Phase 2), whose context carries
  the principles (mental model) and curriculum stages of the requested phases from
  the principles pack; or a failed ``drill-series-completed`` when the library
  cannot serve the request.
- ``BatchWorker`` (faust, scaled by partitions): ``batch-requested`` -> exactly
  ``len(drill_indices)`` drills from its own positions and the batch's teaching,
  retried up to 3 times with backoff, reported in ``batch-completed``.
- The fan-in is ``services.drills.saga.DrillSeriesSaga``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

import structlog

from events import Envelope
from events.drills import (
    BatchCompleted,
    BatchContext,
    BatchPrompts,
    BatchRequested,
    BatchStarted,
    Drill,
    DrillSeriesCompleted,
    DrillSeriesRequested,
    GamePhase,
    SeededPosition,
    SeriesStatus,
)
from services.bus.consumer import Delivery
from services.drills.llm import DRILLS, BatchTask
from services.drills.loading import Loaded, load_positions
from services.drills.principles import PrinciplesPack, Teaching
from services.drills.principles_pack import shipped_principles
from services.drills.series import plan_batches
from services.generation import Gateway, Generated, generate
from services.generation.prompts import load_prompt
from services.runtime.handler import current_attempt

__all__ = ["MAX_RETRIES", "BatchWorker", "SeriesOrchestrator", "teaching_of"]

log = structlog.get_logger(__name__)

MAX_RETRIES = 3
Library = Callable[[str], Awaitable[Mapping[GamePhase, Sequence[SeededPosition]]]]


class SeriesOrchestrator:
    name = "drill-orchestrator"
    event_types: frozenset[str] | None = frozenset({DrillSeriesRequested.event_type})

    def __init__(
        self,
        library: Library,
        *,
        batching: bool = True,
        principles: PrinciplesPack | None = None,
    ) -> None:
        self.library = library
        self.batching = batching  # ENABLE_BATCH_DRILL_GENERATION
        # Loaded when the agent starts: a broken pack stops it there, not per request.
        self.principles = principles or shipped_principles()

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        r = event.payload_as(DrillSeriesRequested)
        library = await self.library(r.engine_id)
        missing = [ph.value for ph in r.game_phases if not library.get(ph)]
        if missing:
            return (
                self._failed(
                    event,
                    r,
                    f"no {r.engine_id} positions for {missing}: run `nls positions seed` first",
                ),
            )
        loaded = load_positions(
            library,
            r.game_phases,
            target_drills=r.target_drill_count,
            max_per_phase=r.max_positions_per_phase,
            seed=r.seed,
        )
        _log_loaded(r, loaded)
        positions = [p for ph in r.game_phases for p in loaded.positions.get(ph, [])]
        size = r.batch_size if r.batched and self.batching else r.target_drill_count
        plans = plan_batches(positions, r.target_drill_count, size)
        prompt = load_prompt("drill-batch")
        teaching = self.principles.teaching(r.game_phases)
        context = BatchContext(
            mental_model=teaching.mental_model(),
            curriculum={
                **teaching.curriculum(),
                # Phase 1's figures; the drills read model shows them with the series.
                "target_drills": r.target_drill_count,
                "positions_per_phase": loaded.limit,
                "context_tokens": loaded.tokens,
                "fixed_maximum_tokens": loaded.fixed_maximum_tokens,
            },
            prompts=BatchPrompts(system_prompt=prompt.text, user_prompt_template=prompt.ref),
        )
        deadline = event.occurred_at + timedelta(seconds=r.deadline_s)
        return [
            event.derive(
                BatchRequested(
                    artifact_id=r.artifact_id,
                    project_id=r.project_id,
                    engine_id=r.engine_id,
                    batch_index=plan.batch_index,
                    total_batches=len(plans),
                    drill_indices=plan.drill_indices,
                    positions=plan.positions,
                    context=context,
                    deadline_at=deadline,
                ),
                role=f"batch:{plan.batch_index}",
                source=self.name,
            )
            for plan in plans
        ]

    def _failed(self, event: Envelope, r: DrillSeriesRequested, why: str) -> Envelope:
        log.warning(
            f"[Drill Series {r.artifact_id}] failed before any batch: {why}",
            artifact_id=str(r.artifact_id),
            reason=why,
        )
        return event.derive(
            DrillSeriesCompleted(
                artifact_id=r.artifact_id,
                status=SeriesStatus.FAILED,
                total_batches=1,
                failed_batches=[0],
                warning=why,
            ),
            role="series-completed",
            source=self.name,
        )


def _log_loaded(r: DrillSeriesRequested, loaded: Loaded) -> None:
    log.info(
        f"[Drill Series {r.artifact_id}] loaded {loaded.count} positions: "
        f"~{loaded.tokens:,} tokens against ~{loaded.fixed_maximum_tokens:,} "
        f"for the fixed maximum ({loaded.savings:.0%} saved)",
        artifact_id=str(r.artifact_id),
        phases=[ph.value for ph in r.game_phases],
        target_drills=r.target_drill_count,
        positions=loaded.count,
        positions_per_phase=loaded.limit,
        context_tokens=loaded.tokens,
        fixed_maximum_tokens=loaded.fixed_maximum_tokens,
        tokens_saved=loaded.fixed_maximum_tokens - loaded.tokens,
        saved_ratio=round(loaded.savings, 4),
    )


def teaching_of(request: BatchRequested) -> Teaching:
    """The teaching the batch's context carries; the shipped pack's for the batch's phases
    when the context has none (batches requested before the pack was shipped)."""
    ctx = request.context
    found = Teaching.from_context(ctx.mental_model, ctx.curriculum)
    if found is not None:
        return found
    return shipped_principles().teaching(dict.fromkeys(p.phase for p in request.positions))


class BatchWorker:
    """``batch-requested`` -> ``batch-completed``: the batch's drills, or its failure.

    A batch that cannot be made is reported (``success=False``) once the guard
    gives up on it (``MAX_RETRIES`` retries of transient errors), so the series
    still completes with what the other batches made.
    """

    name = "drill-batches"
    event_types: frozenset[str] | None = frozenset({BatchRequested.event_type})
    max_attempts = MAX_RETRIES + 1

    def __init__(
        self, gateway: Gateway | None = None, *, strategy: str = "auto", concurrency: int = 5
    ) -> None:
        self.gateway = gateway or Gateway()
        self.strategy = strategy
        self.concurrency = concurrency

    async def generate(self, request: BatchRequested) -> Generated[list[Drill]]:
        task = BatchTask(
            tuple(request.drill_indices),
            tuple(request.positions),
            str(request.artifact_id),
            teaching_of(request),
        )
        return await generate(DRILLS, task, strategy=self.strategy, gateway=self.gateway)

    def started(self, event: Envelope) -> Sequence[Envelope]:
        """The batch is GENERATING: published before the model is asked."""
        r = event.payload_as(BatchRequested)
        started = BatchStarted(artifact_id=r.artifact_id, batch_index=r.batch_index)
        return (event.derive(started, role="batch-started", source=self.name),)

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        r = event.payload_as(BatchRequested)
        made = await self.generate(r)
        result = BatchCompleted(
            artifact_id=r.artifact_id,
            batch_index=r.batch_index,
            success=True,
            drills_generated=len(made.value),
            retry_count=current_attempt() - 1,
            drills=made.value,
            usage=made.usage,
        )
        return (event.derive(result, role="batch-completed", source=self.name),)

    def failed(self, event: Envelope, reason: str, attempts: int) -> Sequence[Envelope]:
        r = event.payload_as(BatchRequested)
        log.warning(
            "drills.batch_failed", batch=r.batch_index, attempts=attempts, error=reason[:500]
        )
        result = BatchCompleted(
            artifact_id=r.artifact_id,
            batch_index=r.batch_index,
            success=False,
            drills_generated=0,
            error=reason[:2000],
            retry_count=max(attempts - 1, 0),
        )
        return (event.derive(result, role="batch-completed", source=self.name),)
