"""Benchmark of batched drill generation: a 25-drill series against simulated model latency.

    python -m tools.bench.drills [--latency-ms 2000 4000] [--runs 3]

Seeds a real position library with GNU Backgammon, then runs the projector, the
orchestrator, the batch workers (one faust worker taking 5 batches at once) and
the fan-in saga as processes. The batch workers use the llm strategy through the
real anthropic SDK against the local fake server, slowed per call by fault
injection (``latency_ms`` = L). A model writes 5 drills in about L, so the seed's
single call for all 25 (ENABLE_BATCH_DRILL_GENERATION=false) is simulated with
5 x L. Reports the series' wall time (requested -> drill-series-completed in the
read model) against L, and the token savings of Phase 1 for the seed's examples.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from contextlib import ExitStack
from typing import Any

from rich.console import Console
from rich.table import Table

from events import Envelope
from events.drills import DrillSeriesRequested, GamePhase, PositionSeeded, SeededPosition
from projections.db import make_engine
from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.drills.engine import GnubgEngine
from services.drills.library import build_library, seeded_events
from services.drills.loading import Loaded, load_positions
from services.settings import Settings
from tools.bench.common import bench_settings, start_workers, stop_workers
from tools.bench.jit import scalar, wait_for
from tools.devstack.provision import broker, database
from tools.fakellm import FakeLLM
from tools.fakellm.simulated import simulated_model

console = Console()
SEED_EXAMPLES = [
    (20, [GamePhase.EARLY, GamePhase.MIDDLE]),
    (10, [GamePhase.MIDDLE]),
    (30, [GamePhase.EARLY, GamePhase.MIDDLE, GamePhase.BEAROFF]),
]


async def series_wall_times(settings: Settings, runs: int) -> list[float]:
    schema = settings.db_schema
    engine = make_engine(settings)
    walls = []
    try:
        async with EventPublisher(settings) as pub:
            for i in range(runs + 1):  # the first run warms the workers up
                artifact = uuid.uuid4()
                request = DrillSeriesRequested(
                    artifact_id=artifact,
                    project_id="bench",
                    target_drill_count=25,
                    game_phases=[GamePhase.EARLY, GamePhase.MIDDLE],
                    seed=i,
                )
                started = time.perf_counter()
                await pub.publish([Envelope.new(request, source="bench")])
                sql = (
                    f'SELECT count(*) FROM "{schema}".drill_series '
                    f"WHERE artifact_id = '{artifact}' AND status IN ('COMPLETED', 'FAILED')"
                )
                await wait_for(engine, sql, 1, 300)
                status = await scalar(
                    engine,
                    f'SELECT status FROM "{schema}".drill_series '
                    f"WHERE artifact_id = '{artifact}'",
                )
                if status != "COMPLETED":
                    raise RuntimeError(f"series {artifact} ended {status}")
                if i:
                    walls.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return walls


LIBRARY_SIZE = 21 + 3 * 20


async def seed_library(settings: Settings) -> list[PositionSeeded]:
    await ensure_topics(settings)
    async with GnubgEngine(size=2) as gnubg:
        positions = await build_library(gnubg, per_phase=20, seed=11, max_games=8)
    async with EventPublisher(settings) as pub:
        await pub.publish(seeded_events(positions))
    return positions


async def wait_library(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        sql = f'SELECT count(*) FROM "{settings.db_schema}".positions'
        await wait_for(engine, sql, LIBRARY_SIZE, 120)
    finally:
        await engine.dispose()


def run(
    kafka: Any, pg: Any, fake: FakeLLM, latency_ms: int, batched: bool, runs: int
) -> list[float]:
    settings = bench_settings(kafka, pg, "drl")
    asyncio.run(seed_library(settings))
    env = {
        "NLS_DRILL_STRATEGY": "llm",
        "ANTHROPIC_API_KEY": "bench",
        "ANTHROPIC_BASE_URL": fake.url,
        "ANTHROPIC_MODEL": "claude-haiku-4-5",
        "NLS_LLM_FAULTS": f"latency_ms={latency_ms},seed=1",
        "NLS_LLM_CONCURRENCY": "5",
        "NLS_LLM_TIMEOUT_S": str(max(30, latency_ms * 3 / 1000)),
        "ENABLE_BATCH_DRILL_GENERATION": "true" if batched else "false",
    }
    agents = [["projector"], ["drill-orchestrator"], ["drill-batches"], ["drill-series"]]
    procs = start_workers(settings, agents, env)
    try:
        asyncio.run(wait_library(settings))
        return asyncio.run(series_wall_times(settings, runs))
    finally:
        stop_workers(procs)


def token_savings(positions: list[PositionSeeded]) -> list[tuple[str, Loaded]]:
    library: dict[GamePhase, list[SeededPosition]] = {}
    for p in positions:
        library.setdefault(p.phase, []).append(p.seeded())
    return [
        (
            f"{drills} drills, {len(phases)} phase(s)",
            load_positions(library, phases, target_drills=drills, seed=1),
        )
        for drills, phases in SEED_EXAMPLES
    ]


def main(latencies: list[int], runs: int) -> None:
    with ExitStack() as stack:
        kafka = stack.enter_context(broker())
        pg = stack.enter_context(database())
        fake = stack.enter_context(FakeLLM("anthropic", responder=simulated_model))
        console.print(
            f"broker: {kafka.origin}, postgres: {pg.origin}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        table = Table(
            "L (ms)",
            "path",
            "runs",
            "wall p50 ms",
            "wall max ms",
            "x L",
            title="25-drill series, wall time",
        )
        for latency in latencies:
            batched = run(kafka, pg, fake, latency, True, runs)
            single = run(kafka, pg, fake, latency * 5, False, runs)
            for path, walls in (
                ("5 batches of 5, in parallel", batched),
                ("single call (5 x L)", single),
            ):
                table.add_row(
                    str(latency),
                    path,
                    str(len(walls)),
                    f"{statistics.median(walls):.0f}",
                    f"{max(walls):.0f}",
                    f"{statistics.median(walls) / latency:.2f}",
                )

        async def library() -> list[PositionSeeded]:
            async with GnubgEngine(size=2) as gnubg:
                return await build_library(gnubg, per_phase=25, seed=11, max_games=10)

        savings = token_savings(asyncio.run(library()))
    console.print(table)
    tokens = Table(
        "request", "positions", "tokens", "fixed maximum", "saved", title="Phase 1: context tokens"
    )
    for label, loaded in savings:
        tokens.add_row(
            label,
            str(loaded.count),
            f"{loaded.tokens:,}",
            f"{loaded.fixed_maximum_tokens:,}",
            f"{loaded.savings:.0%}",
        )
    console.print(tokens)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\\n\\n")[0])
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[2000, 4000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    main(args.latency_ms, args.runs)
