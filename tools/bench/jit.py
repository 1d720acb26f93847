"""Benchmark of JIT remediation: a failed answer -> its remediation plan in the read model.

    python -m tools.bench.jit [--answers 40] [--rate 2] [--model-latency-ms 800]
                              [--strategies rules,llm]

Runs the diagnoser, the remediation agent (it generates just in time itself) and
the projector (two processes, as a deployment runs it: the interactive read models
apart) as worker processes against the embedded broker and Postgres, imports
the CCNA pack, and sends wrong answers, each on a concept whose remediation
needs generation (first miss of a fresh learner on a concept without enough
suitable atoms: no cache hit). Two runs:

1. rules: the whole path is our overhead;
2. llm: the real anthropic SDK against the local fake server (a process of its own,
   as a real model's server is), whose simulated model answers correctly after
   ``--model-latency-ms`` on the server, as a real model does; overhead = latency -
   model latency (calls made x the model's latency).

Latency is answer published -> plan row written (``remediation_plans.projected_at``).
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from events import Context, Envelope
from events.content import AtomsGenerated
from events.learning import AnswerSubmitted
from projections.db import make_engine
from services.bootstrap import bootstrap
from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.content.pack import load_pack
from services.remediation.mapping import MIN_REMEDIATION_ATOMS
from services.settings import Settings
from tools.bench.common import bench_settings, start_workers, stop_workers
from tools.bench.pipeline import pct
from tools.devstack.compose import worker_commands
from tools.devstack.provision import broker, database
from tools.fakellm.process import serve_simulated

console = Console()
ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "packs" / "ccna"
ENCODING_TYPES = {"flashcard", "cloze", "mcq"}


async def scalar(engine: Any, sql: str) -> Any:
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    except Exception as exc:
        if "does not exist" in str(exc):
            return -1
        raise


async def wait_for(engine: Any, sql: str, target: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (value := await scalar(engine, sql)) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sql}: {value} < {target}")
        await asyncio.sleep(0.05)


def wrong_answer(concept_id: uuid.UUID, learner: str) -> Envelope:
    return Envelope.new(
        AnswerSubmitted(
            learner_id=learner,
            session_id=f"{learner}-s1",
            concept_id=concept_id,
            question_id="q1",
            correct=False,
            response_time_ms=6000,  # a first miss, not impulsive: encoding_error
            answer_given="not sure",
        ),
        source="bench",
        occurred_at=datetime.now(UTC),
    )


async def run(
    kafka: Any, pg: Any, name: str, env: dict[str, str], n: int, rate: float, model_ms: int
) -> list[tuple[float, int]]:
    settings = bench_settings(kafka, pg, "jit")
    schema = settings.db_schema
    await ensure_topics(settings)
    pack = load_pack(PACK)
    suitable = {c.concept_id: 0 for c in pack.concepts}
    for a in pack.atoms:
        if a.atom_type.value in ENCODING_TYPES:
            suitable[a.concept_id] += 1
    needy = [
        c.concept_id
        for c in pack.concepts
        if c.facts and suitable[c.concept_id] < MIN_REMEDIATION_ATOMS
    ]
    if len(needy) < n + 2:
        raise SystemExit(f"only {len(needy)} concepts need generation; ask for fewer answers")
    engine = make_engine(settings)
    # The projector as a deployment runs it: the interactive read models apart.
    projectors = [
        args
        for spec, args in worker_commands(bootstrap(settings)).values()
        if spec.runner == "projector"
    ]
    agents = [["diagnoser"], ["remediation"], *projectors]
    procs = start_workers(settings, agents, env)
    try:
        async with EventPublisher(settings) as pub:
            await pub.publish(pack.events())
            await wait_for(
                engine, f'SELECT count(*) FROM "{schema}".concepts', len(pack.concepts), 120
            )
            # Warm up: every worker has joined its group and made its tables.
            await pub.publish([wrong_answer(needy[0], "warm-0"), wrong_answer(needy[1], "warm-1")])
            await wait_for(engine, f'SELECT count(*) FROM "{schema}".remediation_plans', 2, 180)
            sent: dict[str, float] = {}
            with console.status(f"{name}: {n} failed answers at {rate}/s"):
                for i, concept_id in enumerate(needy[2 : n + 2]):
                    learner = f"{name}-{i}"
                    sent[learner] = time.time()
                    await pub.publish([wrong_answer(concept_id, learner)])
                    await asyncio.sleep(1 / rate)
                await wait_for(
                    engine, f'SELECT count(*) FROM "{schema}".remediation_plans', n + 2, 300
                )
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT p.learner_id, extract(epoch FROM p.projected_at), p.jit_generated, "
                        "extract(epoch FROM d.diagnosed_at), extract(epoch FROM p.planned_at), "
                        "(SELECT coalesce(sum(u.attempts), 0) FROM "
                        f'"{schema}".generation_usage u WHERE u.correlation_id = p.answer_event_id '
                        "AND u.provider IS NOT NULL) "
                        f'FROM "{schema}".remediation_plans p JOIN "{schema}".diagnoses d '
                        "ON d.event_id = p.diagnosis_event_id WHERE p.learner_id LIKE :p"
                    ),
                    {"p": f"{name}-%"},
                )
            ).all()
        assert all(r[2] > 0 for r in rows), "every measured plan should hold generated atoms"
        hops = [
            (
                (float(r[3]) - sent[r[0]]) * 1000,
                (float(r[4]) - float(r[3])) * 1000,
                (float(r[1]) - float(r[4])) * 1000,
            )
            for r in rows
        ]
        for label, i in (("answer->diagnosis", 0), ("diagnosis->plan event", 1), ("plan->row", 2)):
            values = [h[i] for h in hops]
            console.print(
                f"{name} {label}: p50 {statistics.median(values):.0f} ms, "
                f"p95 {pct(values, 95):.0f} ms"
            )
        await report_generation_hop(settings, name, model_ms)
        # (latency, model calls made for this plan)
        return [((float(r[1]) - sent[r[0]]) * 1000, int(r[5])) for r in rows]
    finally:
        stop_workers(procs)
        await engine.dispose()


async def report_generation_hop(settings: Settings, name: str, model_ms: int) -> None:
    """Where the time between diagnosis and plan goes: the remediation worker's hop,
    and the generation inside it beyond the model's time."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from events import decode
    from services.bus.consumer import consumer_config

    topics = [settings.topics().domain(c) for c in (Context.LEARNING, Context.CONTENT)]
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        await reader.topics()
        tps = [TopicPartition(t, p) for t in topics for p in reader.partitions_for_topic(t) or ()]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        events = []
        for _ in range(20):
            for recs in (await reader.getmany(timeout_ms=200)).values():
                events += [decode(r.value) for r in recs]
    finally:
        await reader.stop()
    diagnosed = {e.event_id: e for e in events if e.event_type == "failure-diagnosed"}
    hop, inside = [], []
    for e in events:
        p = e.payload
        if not isinstance(p, AtomsGenerated) or p.request_event_id not in diagnosed:
            continue
        if p.remediation is not None and p.remediation.learner_id.startswith(f"{name}-"):
            asked = diagnosed[p.request_event_id].occurred_at
            hop.append((e.occurred_at - asked).total_seconds() * 1000)
            # The generator's own time beyond the model's: reads, checks, building atoms.
            calls = sum(u.attempts for u in p.usage if u.provider)
            inside.append(p.generation_time_ms - calls * model_ms)
    console.print(
        f"{name} diagnosis->atoms-generated (remediation worker hop): "
        f"p50 {statistics.median(hop):.0f} ms, p95 {pct(hop, 95):.0f} ms; "
        f"generation time beyond the model: "
        f"p50 {statistics.median(inside):.0f} ms, p95 {pct(inside, 95):.0f} ms"
    )


def main(n: int, rate: float, model_ms: int, strategies: list[str]) -> None:
    with ExitStack() as stack:
        kafka = stack.enter_context(broker())
        pg = stack.enter_context(database())
        model_url = stack.enter_context(serve_simulated("anthropic", latency_ms=model_ms))
        console.print(
            f"broker: {kafka.origin}, postgres: {pg.origin}, machine: {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}"
        )
        measured: dict[str, list[tuple[float, int]]] = {}
        if "rules" in strategies:
            rules_env = {"NLS_JIT_STRATEGY": "rules"}
            measured["rules"] = asyncio.run(run(kafka, pg, "rules", rules_env, n, rate, 0))
        if "llm" in strategies:
            llm_env = {
                "NLS_JIT_STRATEGY": "llm",
                "ANTHROPIC_API_KEY": "bench",
                "ANTHROPIC_BASE_URL": model_url,
                "ANTHROPIC_MODEL": "claude-haiku-4-5",
            }
            llm = asyncio.run(run(kafka, pg, "llm", llm_env, n, rate, model_ms))
            measured[f"llm ({model_ms} ms model)"] = llm
    table = Table(
        "strategy",
        "plans",
        "model calls",
        "p50 ms",
        "p95 ms",
        "overhead p50 ms",
        "overhead p95 ms",
        title="failed answer -> remediation plan in the read model",
    )
    for name, plans in measured.items():
        latency = [m[0] for m in plans]
        # Overhead: everything but the model's own time (calls made x its latency).
        overhead = [m[0] - m[1] * model_ms for m in plans]
        calls = sum(m[1] for m in plans) / len(plans)
        table.add_row(
            name,
            str(len(plans)),
            f"{calls:.1f}",
            f"{statistics.median(latency):.0f}",
            f"{pct(latency, 95):.0f}",
            f"{statistics.median(overhead):.0f}",
            f"{pct(overhead, 95):.0f}",
        )
    console.print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--rate", type=float, default=2.0, help="answers per second")
    parser.add_argument("--model-latency-ms", type=int, default=800)
    parser.add_argument(
        "--strategies", default="rules,llm", help="which runs, comma-separated: rules, llm"
    )
    args = parser.parse_args()
    chosen = [s.strip() for s in args.strategies.split(",")]
    if unknown := set(chosen) - {"rules", "llm"}:
        parser.error(f"--strategies: unknown {', '.join(sorted(unknown))} (rules, llm)")
    main(args.answers, args.rate, args.model_latency_ms, chosen)
