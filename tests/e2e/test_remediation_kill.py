"""kill -9 the remediation worker while it generates atoms with a (simulated) model and
restart it: every diagnosis gets its one plan, every atom a plan lists is stored, and
no diagnosis gets a second set of generated atoms."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from events import Envelope
from projections.db import make_engine
from services.bus.consumer import Delivery
from services.bus.producer import EventPublisher
from services.diagnosis.agent import Diagnoser
from services.remediation.mapping import MIN_REMEDIATION_ATOMS
from services.settings import Settings
from tests.conftest import agent_process
from tests.support.helpers import answer_event, background, count_rows, query_rows, wait_until
from tests.support.jit import ccna
from tests.support.platform import projector
from tools.fakellm.process import serve_simulated

pytestmark = pytest.mark.e2e

ENCODING_TYPES = {"flashcard", "cloze", "mcq"}  # what suits a first miss
PLANS = 24


async def diagnoses() -> list[Envelope]:
    """A fresh learner's first miss on each of PLANS concepts without enough suitable
    atoms: every one needs generation."""
    pack = ccna()
    suitable = {c.concept_id: 0 for c in pack.concepts}
    for a in pack.atoms:
        if a.atom_type.value in ENCODING_TYPES:
            suitable[a.concept_id] += 1
    needy = [c for c in pack.concepts if c.facts and suitable[c.concept_id] < MIN_REMEDIATION_ATOMS]
    out: list[Envelope] = []
    for i, concept in enumerate(needy[:PLANS]):
        answer = answer_event(f"k{i}", rt=6000, concept=concept.concept_id)
        out += await Diagnoser().handle(answer, Delivery("x", 0, 0, None, None, ()))
    assert len(out) == PLANS
    return out


def worker(settings: Settings, model_url: str, log: Path) -> subprocess.Popen[bytes]:
    return agent_process(
        settings,
        "remediation",
        log,
        NLS_JIT_STRATEGY="llm",
        ANTHROPIC_API_KEY="test",
        ANTHROPIC_BASE_URL=model_url,
        ANTHROPIC_MODEL="claude-haiku-4-5",
    )


async def test_kill_9_mid_generation_loses_and_doubles_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    wanted = await diagnoses()
    engine = make_engine(settings)
    log = tmp_path / "remediation.log"
    with serve_simulated("anthropic", latency_ms=300) as model_url:
        proc = worker(settings, model_url, log)
        try:
            async with background(projector(settings, "content", "remediation")):
                async with EventPublisher(settings) as pub:
                    pack = ccna()
                    await pub.publish(pack.events())
                    await wait_until(
                        lambda: count_rows(engine, "concepts"),
                        lambda n: n == len(pack.concepts),
                        timeout=60,
                        what="the pack imported",
                    )
                    await pub.publish(wanted)
                # Pull the plug once it is really generating, with more in flight.
                await wait_until(
                    lambda: count_rows(engine, "remediation_plans"),
                    lambda n: n >= 2,
                    timeout=120,
                    what="the first plans",
                )
                proc.kill()
                proc.wait()
                assert await count_rows(engine, "remediation_plans") < PLANS
                proc = worker(settings, model_url, log)
                await wait_until(
                    lambda: count_rows(engine, "remediation_plans"),
                    lambda n: n == PLANS,
                    timeout=180,
                    what="every plan",
                )
                plans = await query_rows(
                    engine, "SELECT diagnosis_event_id, atoms FROM remediation_plans"
                )
                listed = {a["atom_id"] for p in plans for a in p.atoms if a["source"] == "jit"}

                async def generated() -> list[Any]:
                    return await query_rows(
                        engine,
                        "SELECT id, request_event_id FROM learning_atoms "
                        "WHERE 'jit_generated' = ANY(tags)",
                    )

                # The content read model folds the same events on its own consumer.
                stored = await wait_until(
                    generated,
                    lambda rows: {str(r.id) for r in rows} >= listed,
                    timeout=30,
                    what="every atom a plan lists stored",
                )
        finally:
            proc.terminate()
            proc.wait(30)
            await engine.dispose()
    assert {p.diagnosis_event_id for p in plans} == {d.event_id for d in wanted}
    for plan in plans:
        holds = {a["atom_id"] for a in plan.atoms}
        assert len(holds) >= MIN_REMEDIATION_ATOMS, plan
        mine = {str(a.id) for a in stored if a.request_event_id == plan.diagnosis_event_id}
        # One set of atoms per diagnosis, and the plan holds it (as new or, when a
        # redelivered diagnosis found them stored, as existing atoms).
        assert mine <= holds, "a diagnosis got a second set of atoms"
