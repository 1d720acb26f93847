"""``nls demo``: the embedded stack, a scripted stream of answers, and what the read models hold.

The script is deterministic (seeded): learners with different habits answer
CCNA questions through the HTTP API, so every diagnosis rule shows up: the
impulsive learner answers too fast, the confuser picks a sibling concept's
answer, the tired learner slows down late in a long session, the novice has
never learned a cluster, the rusty learner forgets, the integrator knows
the facts but fails the application questions.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from events import Context
from projections import queries
from projections.checksum import checksum
from projections.db import make_engine
from projections.registry import PROJECTIONS
from services.bus.producer import EventPublisher
from services.content.pack import Pack, load_pack
from services.settings import Settings
from tools.devstack.stack import DevStack

PACK = Path(__file__).resolve().parent.parent / "packs" / "ccna"

__all__ = ["demo_concepts", "run_demo", "scripted_answers"]


@dataclass(frozen=True)
class Concept:
    id: uuid.UUID
    cluster: str
    name: str
    answer: str
    siblings: tuple[uuid.UUID, ...]


def demo_concepts(pack: Pack, per_cluster: int = 3) -> list[Concept]:
    """A few concepts of every cluster of the pack; a question's answer is its first fact."""
    picked: list[Concept] = []
    for cluster in sorted({c.cluster_slug for c in pack.concepts}):
        members = [c for c in pack.concepts if c.cluster_slug == cluster and c.facts and c.siblings]
        for c in members[:per_cluster]:
            picked.append(
                Concept(c.concept_id, cluster, c.name, c.facts[0].value, tuple(c.siblings))
            )
    return picked


PROFILES = ["steady", "impulsive", "confuser", "tired", "novice", "rusty", "integrator", "steady"]


def scripted_answers(
    concepts: list[Concept], learners: int, answers: int, seed: int = 7
) -> list[dict[str, Any]]:
    """The demo's answer-submitted events as API JSON, in time order per learner."""
    rng = random.Random(seed)
    by_id = {c.id: c for c in concepts}
    clusters = sorted({c.cluster for c in concepts})
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    out: list[dict[str, Any]] = []
    for n in range(learners):
        profile = PROFILES[n % len(PROFILES)]
        learner = f"learner-{n:03d}-{profile}"
        weak = rng.choice(clusters)
        t = start + timedelta(minutes=rng.randint(0, 120))
        session = f"{learner}-s1"
        seen_correct: set[uuid.UUID] = set()
        for i in range(answers):
            concept = rng.choice(concepts)
            kind = "application" if profile == "integrator" and i % 3 == 2 else "recall"
            rt = rng.randint(4000, 12000)
            p_correct = 0.75
            if profile == "impulsive" and rng.random() < 0.4:
                rt, p_correct = rng.randint(500, 1500), 0.3
            if profile == "novice" and concept.cluster == weak:
                p_correct = 0.1
            if profile == "rusty":
                p_correct = 0.9 if i < answers // 2 else 0.35
            if profile == "integrator":
                p_correct = 0.9 if kind == "recall" else 0.15
            if profile == "tired":
                p_correct = max(0.15, 0.85 - i * 0.02)
                rt = int(rt * (1 + i * 0.06))
            correct = rng.random() < p_correct
            given, given_concept = concept.answer, None
            if not correct:
                known = [by_id[s] for s in concept.siblings if s in by_id]
                if known and (profile == "confuser" or rng.random() < 0.15):
                    sibling = rng.choice(known)
                    given, given_concept = sibling.answer, sibling.id
                else:
                    given = rng.choice(["I don't know", "255.255.255.0", "8 bytes", "100"])
            if correct:
                seen_correct.add(concept.id)
            out.append(
                {
                    "event_type": "answer-submitted",
                    "occurred_at": t.isoformat(),
                    "payload": {
                        "learner_id": learner,
                        "session_id": session,
                        "concept_id": str(concept.id),
                        "question_id": f"q-{concept.id.hex[:6]}-{kind}",
                        "question_kind": kind,
                        "correct": correct,
                        "response_time_ms": rt,
                        "answer_given": given,
                        "expected_answer": concept.answer,
                        "answer_concept_id": str(given_concept) if given_concept else None,
                    },
                }
            )
            gap = 60 if profile == "tired" else rng.randint(5, 40)
            t += timedelta(milliseconds=rt) + timedelta(seconds=gap)
    return out


async def _publish(info: Any, events: list[dict[str, Any]], console: Console) -> float:
    headers = {"Authorization": f"Bearer {info.api_token}"}
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=info.api_url, headers=headers, timeout=30) as client:
        for i in range(0, len(events), 500):
            r = await client.post("/v1/events", json=events[i : i + 500])
            r.raise_for_status()
        bad = await client.post(
            "/v1/events", json={"event_type": "answer-submitted", "payload": {"learner_id": "x"}}
        )
        console.print(
            f"the API refused an invalid event: {bad.status_code} "
            f"{bad.json()['detail'][0]['loc']} {bad.json()['detail'][0]['msg']}"
        )
    return time.perf_counter() - started


async def _wait_for(engine: Any, attempts: int, diagnoses: int, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        async with engine.connect() as conn:
            t = await queries.totals(conn)
        if (
            t["attempts"] >= attempts
            and t["diagnoses"] >= diagnoses
            and t["remediation_plans"] >= diagnoses
            and t["dead_letters"] >= 1
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"read models did not catch up: {t}")
        await asyncio.sleep(0.25)


async def run_demo(settings: Settings, console: Console, *, learners: int, answers: int) -> None:
    stack = DevStack(settings)
    try:
        with console.status("starting the embedded stack"):
            info = await stack.start()
            await stack.wait_api()
        console.print(
            f"stack up: broker {info.bootstrap} ({info.broker_origin}), "
            f"Postgres ({info.postgres_origin}), API {info.api_url}"
        )
        pack = load_pack(PACK)
        effective = settings.model_copy(
            update={
                "kafka_bootstrap_servers": info.bootstrap,
                "database_url": info.database_url,
                "broker_flavour": info.env["NLS_BROKER_FLAVOUR"],
            }
        )
        async with EventPublisher(effective, client_id="demo") as pub:
            await pub.publish(pack.events())
        console.print(
            f"imported content pack {pack.name}: {len(pack.concepts)} concepts, "
            f"{len(pack.atoms)} authored atoms"
        )
        events = scripted_answers(demo_concepts(pack), learners, answers)
        wrong = sum(1 for e in events if not e["payload"]["correct"])
        with console.status(f"publishing {len(events)} answers through the API"):
            seconds = await _publish(info, events, console)
        console.print(f"published {len(events)} answers ({wrong} wrong) in {seconds:.2f}s")
        # A message no producer of ours would write, straight onto the topic:
        # it must end up in the dead-letter topic, and the rest must flow.
        async with EventPublisher(effective, client_id="demo") as pub:
            await pub.send_raw(
                effective.topics().domain(Context.LEARNING), b"demo", b"{not json", []
            )
        engine = make_engine(effective, read_only=True)
        try:
            with console.status("waiting for the read models"):
                await _wait_for(engine, len(events), wrong)
            await _summary(console, engine, info)
        finally:
            await engine.dispose()
    finally:
        with console.status("stopping"):
            await stack.stop()


async def _summary(console: Console, engine: Any, info: Any) -> None:
    async with engine.connect() as conn:
        totals = await queries.totals(conn)
        modes = await queries.fail_mode_counts(conn)
        dead = await queries.dead_letters(conn, limit=10)
    t = Table("read model", "rows", title="what the read models hold")
    for k, v in totals.items():
        t.add_row(k, str(v))
    console.print(t)
    m = Table("fail mode", "diagnoses", title="NCDE diagnoses")
    for mode, n in sorted(modes.items(), key=lambda kv: -kv[1]):
        m.add_row(mode, str(n))
    console.print(m)
    headers = {"Authorization": f"Bearer {info.api_token}"}
    async with httpx.AsyncClient(base_url=info.api_url, headers=headers) as client:
        for learner in ("learner-001-impulsive", "learner-002-confuser", "learner-003-tired"):
            rows = (
                await client.get(f"/v1/learners/{learner}/diagnoses", params={"limit": 3})
            ).json()
            d = Table("fail mode", "rule", "why", title=f"GET /v1/learners/{learner}/diagnoses")
            for r in rows:
                d.add_row(r["fail_mode"], r["evidence"]["rule"], r["rationale"])
            console.print(d)
        plans = (await client.get("/v1/learners/learner-004-novice/remediation")).json()
        pt = Table(
            "fail mode",
            "atoms",
            "generated",
            "note",
            title="GET /v1/learners/learner-004-novice/remediation",
        )
        for plan in plans[:5]:
            pt.add_row(
                plan["fail_mode"], str(len(plan["atoms"])), str(plan["jit_generated"]), plan["note"]
            )
        console.print(pt)
        if plans and plans[0]["atoms"]:
            first = plans[0]["atoms"][0]
            console.print(f"first atom of that plan ({first['atom_type']}): {first['front']}")
    async with engine.connect() as conn:
        jit = await queries.jit_stats(conn)
        usage = await queries.usage_stats(conn)
    g = Table("Metric", "Value", title="nls generate stats")
    g.add_row("Total atoms", str(jit.total_atoms))
    g.add_row("JIT-generated", f"{jit.jit_generated}")
    for trigger, n in sorted(jit.by_trigger.items()):
        g.add_row(f"  {trigger}", str(n))
    console.print(g)
    u = Table("family", "strategy", "calls", "p50 ms", "fallback", title="nls stats usage")
    for row in usage:
        u.add_row(
            row.family,
            row.strategy,
            str(row.calls),
            f"{row.latency_p50_ms:.1f}",
            f"{row.fallback_rate:.0%}",
        )
    console.print(u)
    dl = Table("agent", "kind", "reason", title="dead letters")
    for r in dead:
        dl.add_row(r.agent, r.kind, r.reason[:70])
    console.print(dl)
    c = Table("read model", "digest", title="checksums (equal after `nls replay`)")
    for p in PROJECTIONS.values():
        digest, _ = await checksum(engine, p)
        c.add_row(p.name, digest[:32])
    console.print(c)
