"""The demo's learning part: learners answer CCNA questions, wrong answers are diagnosed
and remediated just in time.

The script is deterministic (seeded): learners with different habits answer
CCNA questions through the HTTP API, so every diagnosis rule shows up: the
impulsive learner answers too fast, the confuser picks a sibling concept's
answer, the tired learner slows down late in a long session, the novice has
never learned a cluster, the rusty learner forgets, the integrator knows
the facts but fails the application questions.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table

from events import Context
from projections.content import jit_stats
from projections.learning import fail_mode_counts
from services.content.pack import Pack, load_pack
from tools.demo.stage import PACKS, Demo

__all__ = ["demo_concepts", "scripted_answers", "show_learning"]


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


async def show_learning(demo: Demo, *, learners: int, answers: int) -> None:
    pack = load_pack(PACKS / "ccna")
    await demo.publish(pack.events())
    demo.console.print(
        f"imported content pack {pack.name}: {len(pack.concepts)} concepts, "
        f"{len(pack.atoms)} authored atoms"
    )
    events = scripted_answers(demo_concepts(pack), learners, answers)
    wrong = sum(1 for e in events if not e["payload"]["correct"])
    with demo.console.status(f"publishing {len(events)} answers through the API"):
        started = time.perf_counter()
        for i in range(0, len(events), 500):
            r = await demo.http.post("/v1/events", json=events[i : i + 500])
            r.raise_for_status()
        seconds = time.perf_counter() - started
    demo.console.print(f"published {len(events)} answers ({wrong} wrong) in {seconds:.2f}s")
    bad = await demo.http.post(
        "/v1/events", json={"event_type": "answer-submitted", "payload": {"learner_id": "x"}}
    )
    error = bad.json()["detail"][0]
    demo.console.print(
        f"the API refused an invalid event: {bad.status_code} {error['loc']} {error['msg']}"
    )
    # A message no producer of ours would write, straight onto the topic: it must end
    # up in the dead-letter topic, and the rest must flow.
    await demo.send_raw(demo.settings.topics().domain(Context.LEARNING), b"{not json")

    async def caught_up() -> bool:
        n = await demo.rows("attempts", "diagnoses", "remediation_plans", "dead_letters")
        done = (len(events), wrong, wrong, 1)
        return all(a >= b for a, b in zip(n, done, strict=True))

    with demo.console.status("waiting for the diagnoses and remediation plans"):
        await demo.until(caught_up, "the learning read models")
    await _learning_summary(demo)


async def _learning_summary(demo: Demo) -> None:
    async with demo.engine.connect() as conn:
        modes = await fail_mode_counts(conn)
        jit = await jit_stats(conn)
    m = Table("fail mode", "diagnoses", title="NCDE diagnoses")
    for mode, n in sorted(modes.items(), key=lambda kv: -kv[1]):
        m.add_row(mode, str(n))
    demo.console.print(m)
    for learner in ("learner-001-impulsive", "learner-002-confuser", "learner-003-tired"):
        rows = (
            await demo.http.get(f"/v1/learners/{learner}/diagnoses", params={"limit": 3})
        ).json()
        d = Table("fail mode", "rule", "why", title=f"GET /v1/learners/{learner}/diagnoses")
        for r in rows:
            d.add_row(r["fail_mode"], r["evidence"]["rule"], r["rationale"])
        demo.console.print(d)
    plans = (await demo.http.get("/v1/learners/learner-004-novice/remediation")).json()
    pt = Table(
        "fail mode", "atoms", "generated", "note",
        title="GET /v1/learners/learner-004-novice/remediation",
    )  # fmt: skip
    for plan in plans[:5]:
        pt.add_row(
            plan["fail_mode"], str(len(plan["atoms"])), str(plan["jit_generated"]), plan["note"]
        )
    demo.console.print(pt)
    if plans and plans[0]["atoms"]:
        first = plans[0]["atoms"][0]
        demo.console.print(f"first atom of that plan ({first['atom_type']}): {first['front']}")
    g = Table("Metric", "Value", title="nls generate stats")
    g.add_row("Total atoms", str(jit.total_atoms))
    g.add_row("JIT-generated", f"{jit.jit_generated}")
    for trigger, n in sorted(jit.by_trigger.items()):
        g.add_row(f"  {trigger}", str(n))
    demo.console.print(g)
