"""The drills family: backgammon drill series fanned out in batches of 5, fanned in by a saga."""

from __future__ import annotations

from typing import Any

from events.drills import (
    BatchCompleted,
    BatchRequested,
    BatchStarted,
    DrillSeriesCompleted,
    DrillSeriesRequested,
    PositionSeeded,
)
from services.runtime.family import AgentSpec, Deps, FamilySpec

__all__ = ["FAMILY"]


def _orchestrator(deps: Deps) -> Any:
    from projections.positions import library_of
    from services.drills.agents import SeriesOrchestrator
    from services.drills.settings import DrillSettings

    def open_library(d: Deps) -> Any:
        engine = d.read_engine()

        async def library(engine_id: str) -> Any:
            async with engine.connect() as conn:
                return await library_of(conn, engine_id)

        return library

    drills = deps.settings.section(DrillSettings)
    return SeriesOrchestrator(
        deps.resource("position_library", open_library),
        batching=drills.enable_batch_drill_generation,
    )


def _batch_worker(deps: Deps) -> Any:
    from services.drills.agents import BatchWorker
    from services.drills.settings import DrillSettings

    drills = deps.settings.section(DrillSettings)
    return BatchWorker(
        deps.gateway(), strategy=drills.drill_strategy, concurrency=drills.drill_batch_concurrency
    )


def _series_saga(deps: Deps) -> Any:
    from services.drills.saga import DrillSeriesSaga

    return DrillSeriesSaga()


FAMILY = FamilySpec(
    name="drills",
    summary="backgammon drill series: GNU Backgammon's ground truth, batches of 5, partial "
    "completion",
    agents=(
        AgentSpec(
            "drill-orchestrator",
            "drill-series-requested -> the positions it needs, one batch-requested per batch of 5",
            consumes=(DrillSeriesRequested,),
            produces=(BatchRequested, DrillSeriesCompleted),
            runner="batched",
            build=_orchestrator,
        ),
        AgentSpec(
            "drill-batches",
            "batch-requested -> batch-started, then batch-completed with its drills (5 at once)",
            consumes=(BatchRequested,),
            produces=(BatchStarted, BatchCompleted),
            runner="faust",
            build=_batch_worker,
        ),
        AgentSpec(
            "drill-series",
            "fan-in saga: every batch, or the deadline -> drill-series-completed",
            consumes=(BatchRequested, BatchCompleted),
            produces=(DrillSeriesCompleted,),
            runner="faust",
            build=_series_saga,
            saga=True,
        ),
    ),
    read_models=(
        "projections.positions:PositionsProjection",
        "projections.drills:DrillsProjection",
    ),
    router="services.drills.api:router",
    cli={
        "positions": "services.drills.cli:positions_app",
        "drills": "services.drills.cli:drills_app",
    },
    strategies=("services.drills.llm:DRILLS",),
    inputs=(DrillSeriesRequested, PositionSeeded),
)
