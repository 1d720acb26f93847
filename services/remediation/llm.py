"""The llm strategy for atoms: same atom types through the gateway, checked against the
facts (a wrong answer is re-asked, then the rules make the atoms instead)."""

from __future__ import annotations

import hashlib
import uuid

import orjson
from pydantic import BaseModel, Field

from events.content import Atom, AtomBody
from services.generation import Gateway, Generated, GenerationRequest
from services.remediation.rules import AtomTask
from services.remediation.verify import problems

__all__ = ["AtomDraft", "AtomDrafts", "llm_atoms"]

TASK = "jit-atoms"

_KNOWLEDGE = {
    "flashcard": "factual",
    "cloze": "factual",
    "mcq": "factual",
    "true_false": "factual",
    "compare": "conceptual",
    "parsons": "procedural",
    "sequence": "procedural",
    "numeric": "procedural",
}


class AtomDraft(BaseModel):
    body: AtomBody
    source_fact_basis: list[str] = Field(
        min_length=1, max_length=6, description="the facts or steps, quoted, it is made from"
    )


class AtomDrafts(BaseModel):
    atoms: list[AtomDraft] = Field(min_length=1, max_length=10)


def _content(task: AtomTask) -> dict[str, object]:
    def facts_of(c: object) -> list[dict[str, str]]:
        return [f.model_dump() for f in c.facts]  # type: ignore[attr-defined]

    c = task.concept
    return {
        "concept": {
            "name": c.name,
            "definition": c.definition,
            "facts": facts_of(c),
            "procedures": [p.model_dump() for p in c.procedures],
            "calculations": [calc.value for calc in c.calculations],
        },
        "siblings": [{"name": s.name, "facts": facts_of(s)} for s in task.siblings],
        "content_type": task.content_type.value,
        "atom_types": [t.value for t in task.atom_types],
        "count": task.count,
        "fail_mode": task.fail_mode.value if task.fail_mode else None,
        "already_written": list(task.written[-30:]),
    }


def _atom(task: AtomTask, draft: AtomDraft) -> Atom:
    digest = hashlib.sha256(orjson.dumps(draft.body.model_dump(mode="json"))).hexdigest()[:16]
    variant = f"llm:{draft.body.type}:{digest}"
    return Atom(
        atom_id=uuid.uuid5(task.concept.concept_id, variant),
        concept_id=task.concept.concept_id,
        content_type=task.content_type,
        knowledge_type=_KNOWLEDGE[draft.body.type],  # type: ignore[arg-type]
        body=draft.body,
        source_fact_basis=draft.source_fact_basis,
        fidelity_type="generated",
        variant=variant,
    )


def _checker(task: AtomTask):  # type: ignore[no-untyped-def]
    allowed = {t.value for t in task.atom_types}

    def check(drafts: AtomDrafts) -> None:
        found = []
        if len(drafts.atoms) > task.count:
            found.append(f"expected at most {task.count} atoms, got {len(drafts.atoms)}")
        written = {w.casefold() for w in task.written}
        for i, d in enumerate(drafts.atoms):
            if _atom(task, d).front.casefold() in written:
                found.append(f"atoms[{i}] repeats an item the concept already has")
                continue
            if d.body.type not in allowed:
                found.append(f"atoms[{i}]: type {d.body.type} is not one of {sorted(allowed)}")
                continue
            found += [
                f"atoms[{i}]: {p}" for p in problems(_atom(task, d), task.concept, task.siblings)
            ]
        if found:
            raise ValueError("; ".join(found[:6]))

    return check


async def llm_atoms(task: AtomTask, gateway: Gateway) -> Generated[list[Atom]]:
    made = await gateway.generate(
        GenerationRequest(
            task=TASK,
            family="jit",
            content=_content(task),
            output=AtomDrafts,
            temperature=0.4,
            check=_checker(task),
        )
    )
    return Generated([_atom(task, d) for d in made.value.atoms], made.usage)
