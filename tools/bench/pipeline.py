"""Benchmark of the learning pipeline: answers in, diagnoses into the read models.

    python -m tools.bench.pipeline [--events 100000] [--rate 1000] [--latency-seconds 20]

Runs the diagnoser and the projector as separate worker processes (as in
production) against the broker and Postgres the tests would use, and reports:

1. latency at a fixed rate: answer -> ``failure-diagnosed`` event, and
   answer -> row in the diagnoses read model, p50/p99;
2. publish rate of N ``answer-submitted`` events;
3. end-to-end rate: from the first publish until every answer and every
   diagnosis is in the read models (events folded per second);
4. replay rate: ``nls replay --projection learning`` over the whole log.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from events import Envelope
from events.learning import AnswerSubmitted
from projections.db import make_engine
from projections.learning import LearningProjection
from projections.replay import rebuild
from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.runtime.worker import tune_gc
from tools.bench.common import bench_settings, start_workers, stop_workers
from tools.devstack.provision import broker, database

console = Console()
ROOT = Path(__file__).resolve().parents[2]


def answers(n: int, *, seed: int, start: datetime | None = None) -> list[Envelope]:
    rng = random.Random(seed)
    concepts = [uuid.UUID(int=i + 1) for i in range(50)]
    t0 = start or datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        out.append(
            Envelope.new(
                AnswerSubmitted(
                    learner_id=f"bench-{rng.randrange(2000)}",
                    session_id=f"s{i // 5000}",
                    concept_id=rng.choice(concepts),
                    question_id=f"q{i}",
                    correct=rng.random() < 0.5,
                    response_time_ms=rng.randint(800, 20_000),
                    answer_given="x",
                ),
                source="bench",
                occurred_at=t0 + timedelta(milliseconds=i),
            )
        )
    return out


async def scalar(engine: Any, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def wait_rows(
    engine: Any, schema: str, answers_n: int, diagnoses_n: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            a = await scalar(engine, f'SELECT count(*) FROM "{schema}".attempts')
            d = await scalar(engine, f'SELECT count(*) FROM "{schema}".diagnoses')
        except Exception:
            a = d = -1
        if a >= answers_n and d >= diagnoses_n:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(
        f"read models stuck at {a}/{answers_n} attempts, {d}/{diagnoses_n} diagnoses"
    )


def pct(values: Sequence[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def bench(kafka: Any, pg: Any, n: int, rate: int, latency_seconds: float) -> dict[str, float]:
    results: dict[str, float] = {}
    if True:
        settings = bench_settings(kafka, pg, "bench")
        console.print(f"broker: {kafka.origin}, postgres: {pg.origin}")
        await ensure_topics(settings)
        engine = make_engine(settings)
        procs = start_workers(settings, [["diagnoser"], ["projector", "--projection", "learning"]])
        try:
            # Warm up: the workers join their groups and create tables.
            warm = answers(200, seed=1, start=datetime.now(UTC))
            async with EventPublisher(settings) as pub:
                await pub.publish(warm)
            warm_wrong = sum(not e.payload.correct for e in warm)  # type: ignore[attr-defined]
            await wait_rows(engine, settings.db_schema, 200, warm_wrong, 120)

            # 1. latency at a fixed rate, on a young log (Tansu slows down as its log grows)
            total = int(rate * latency_seconds)
            lat = answers(total, seed=3, start=datetime.now(UTC))
            tune_gc()  # the prepared events are long-lived: keep the collector off them
            async with EventPublisher(settings) as pub:
                tick = 0.01
                per_tick = max(1, int(rate * tick))
                t0 = time.perf_counter()
                for k, i in enumerate(range(0, total, per_tick)):
                    now = datetime.now(UTC)
                    chunk = [
                        e.model_copy(update={"occurred_at": now}) for e in lat[i : i + per_tick]
                    ]
                    await pub.publish(chunk)
                    delay = t0 + (k + 1) * tick - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
            lat_wrong = sum(not e.payload.correct for e in lat)  # type: ignore[attr-defined]
            await wait_rows(engine, settings.db_schema, 200 + total, warm_wrong + lat_wrong, 300)
            schema = settings.db_schema
            ids = ",".join(f"'{e.event_id}'" for e in lat)
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        text(
                            "SELECT extract(epoch FROM d.diagnosed_at - a.answered_at), "
                            "extract(epoch FROM d.projected_at - a.answered_at) "
                            f'FROM "{schema}".diagnoses d JOIN "{schema}".attempts a '
                            f"ON a.event_id = d.answer_event_id WHERE a.event_id IN ({ids})"
                        )
                    )
                ).all()
            to_event = [float(r[0]) * 1000 for r in rows]
            to_row = [float(r[1]) * 1000 for r in rows]
            results["latency_rate_per_s"] = rate
            results["to_diagnosis_p50_ms"] = statistics.median(to_event)
            results["to_diagnosis_p99_ms"] = pct(to_event, 99)
            results["to_read_model_p50_ms"] = statistics.median(to_row)
            results["to_read_model_p99_ms"] = pct(to_row, 99)

            # 2-3. throughput
            events = answers(n, seed=2)
            tune_gc()
            wrong = sum(not e.payload.correct for e in events)  # type: ignore[attr-defined]
            async with EventPublisher(settings) as pub:
                started = time.perf_counter()
                for i in range(0, n, 2000):
                    await pub.publish(events[i : i + 2000])
                published = time.perf_counter() - started
            await wait_rows(
                engine, settings.db_schema, n + 200 + total, wrong + warm_wrong + lat_wrong, 600
            )
            e2e = time.perf_counter() - started
            results["publish_events_per_s"] = n / published
            results["e2e_answers_per_s"] = n / e2e
            results["e2e_events_folded_per_s"] = (n + wrong) / e2e
            results["e2e_seconds"] = e2e

        finally:
            stop_workers(procs)

        # 4. replay of the whole log (as `nls replay` runs it)
        tune_gc()
        async with EventPublisher(settings) as pub:
            started = time.perf_counter()
            result = await rebuild(
                LearningProjection(),
                settings=settings,
                engine=engine,
                publisher=pub,
                workers=os.cpu_count() or 1,
            )
            seconds = time.perf_counter() - started
        results["replay_events"] = result.events
        results["replay_events_per_s"] = result.events / seconds
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1000, help="events/s for the latency run")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    args = parser.parse_args()
    with broker() as kafka, database() as pg:
        results = asyncio.run(bench(kafka, pg, args.events, args.rate, args.latency_seconds))
    table = Table(
        "measure", "value", title=f"learning pipeline on {platform.node()} ({os.cpu_count()} cores)"
    )
    for k, v in results.items():
        table.add_row(k, f"{v:,.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
