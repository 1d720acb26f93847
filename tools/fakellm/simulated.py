"""A simulated model for the fake servers: answers our own tasks correctly, so tests and
benchmarks can run the llm path end to end (real SDK, real HTTP, real validation).

It reads the request's data block and answers as a good model would: the health
check echoes its nonce; jit-atoms writes atoms from the facts it was given, and
drill-batch drills from the engine's ranked plays (with the rules generators,
which are right by construction).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from events.content import AtomType, ConceptImported, ContentType
from events.drills import SeededPosition
from services.drills.drills import make_drill
from services.remediation.rules import AtomTask, make_atoms
from tools.fakellm.server import data_of

__all__ = ["simulated_model"]

_NS = uuid.UUID("3b0e7f5e-2c8f-4a8e-8d61-5e0f6a1c9d27")


def _concept(raw: dict[str, Any], siblings: list[uuid.UUID] | None = None) -> ConceptImported:
    return ConceptImported(
        concept_id=uuid.uuid5(_NS, raw["name"]),
        slug="simulated",
        pack="simulated",
        cluster_id=_NS,
        cluster_slug="simulated",
        cluster_name="simulated",
        name=raw["name"],
        definition=raw.get("definition"),
        facts=raw.get("facts", []),
        procedures=raw.get("procedures", []),
        calculations=raw.get("calculations", []),
        siblings=siblings or [],
    )


def _atoms(data: dict[str, Any]) -> dict[str, Any]:
    siblings = tuple(_concept(s) for s in data["siblings"])
    concept = _concept(data["concept"], [s.concept_id for s in siblings])
    task = AtomTask(
        concept=concept,
        siblings=siblings,
        content_type=ContentType(data["content_type"]),
        atom_types=tuple(AtomType(t) for t in data["atom_types"]),
        count=100,
    )
    written = {w.casefold() for w in data.get("already_written", [])}
    fresh = [a for a in make_atoms(task) if a.front.casefold() not in written]
    return {
        "atoms": [
            {"body": a.body.model_dump(mode="json"), "source_fact_basis": a.source_fact_basis}
            for a in fresh[: data["count"]]
        ]
    }


def _drills(data: dict[str, Any]) -> dict[str, Any]:
    out = []
    for d in data["drills"]:
        position = SeededPosition(
            position_id=d["position_id"],
            dice=tuple(d["dice"]),
            phase=d["phase"],
            candidate_moves=d["ranked_plays"],
            created_at=datetime.now(UTC),
        )
        drill = make_drill(position, d["index"], seed="simulated")
        out.append(
            {
                "index": drill.index,
                "question": drill.question,
                "options": drill.options,
                "best_move": drill.best_move,
                "explanations": drill.explanations,
                "principle": drill.principle.value,
            }
        )
    return {"drills": out}


def _lesson_task(body: dict[str, Any]) -> str | None:
    """The lesson task whose prompt is this call's system prompt, if any."""
    from services.generation.prompts import load_prompt, prompt_tasks
    from tools.fakellm.server import system_of

    system = system_of(body)
    found = [t for t in prompt_tasks() if t.startswith("lesson-") and load_prompt(t).text in system]
    return found[0] if found else None


def simulated_model(body: dict[str, Any]) -> str:
    data = data_of(body)
    task = _lesson_task(body)
    if task is not None:
        from services.lessons.simulated import lesson_reply

        return orjson.dumps(lesson_reply(task, data)).decode()
    from services.courses.simulated import course_reply, is_course_task

    if is_course_task(data):
        return course_reply(data)
    if "nonce" in data:
        return orjson.dumps({"status": "ok", "echo": data["nonce"]}).decode()
    if "atom_types" in data:
        return orjson.dumps(_atoms(data)).decode()
    if "drills" in data:
        return orjson.dumps(_drills(data)).decode()
    if "main_lift" in data:  # training-jit: a coach easing off when recovery is poor
        readiness = data["recovery"].get("readiness") or 7
        easy = readiness <= 5
        return orjson.dumps(
            {
                "intensityModifier": 0.9 if easy else 1.0,
                "setModifier": -1 if easy else 0,
                "skipMainLift": False,
                "auxOverrides": {},
                "rationale": [f"readiness {readiness}/10"],
                "confidence": "medium",
            }
        ).decode()
    raise ValueError("the simulated model does not know this task")
