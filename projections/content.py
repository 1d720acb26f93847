"""Content read models: concepts from packs and learning_atoms (authored and JIT-generated).

``learning_atoms`` keeps the seed's columns (id, concept_id, card_id, atom_type,
front, back, knowledge_type, tags, is_hydrated, fidelity_type,
source_fact_basis, quality_score, created_at) plus the whole atom as JSON.
An atom id already present changes nothing; a re-imported concept replaces
its row. A request is answered once: a second ``atoms-generated`` for a request
whose atoms are stored (a redelivered request or diagnosis generated anew, and a
model answers differently each time) adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Envelope
from events.content import Atom, AtomImported, AtomsGenerated, ConceptImported
from projections.base import Applied, EventProjection
from projections.db import METADATA

__all__ = [
    "CONCEPTS",
    "LEARNING_ATOMS",
    "AtomView",
    "ContentProjection",
    "JitStats",
    "atom_count",
    "atoms_of",
    "concept_names",
    "jit_stats",
]

CONCEPTS = Table(
    "concepts",
    METADATA,
    Column("concept_id", Uuid, primary_key=True),
    Column("pack", String(64), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("cluster_id", Uuid, nullable=False),
    Column("cluster_slug", String(64), nullable=False),
    Column("cluster_name", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("doc", JSONB, nullable=False),  # the concept-imported payload
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Index("concepts_cluster_idx", "cluster_slug", "slug"),
)

LEARNING_ATOMS = Table(
    "learning_atoms",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("concept_id", Uuid, nullable=False),
    Column("card_id", String(200)),
    Column("atom_type", String(32), nullable=False),
    Column("front", Text, nullable=False),
    Column("back", Text, nullable=False),
    Column("knowledge_type", String(32), nullable=False),
    Column("tags", ARRAY(String(64)), nullable=False),
    Column("is_hydrated", Boolean, nullable=False),
    Column("fidelity_type", String(32), nullable=False),
    Column("source_fact_basis", JSONB, nullable=False),
    Column("quality_score", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("variant", String(200), nullable=False),
    Column("trigger", String(32)),
    Column("strategy", String(64)),
    Column("request_event_id", Uuid),
    Column("atom", JSONB, nullable=False),
    UniqueConstraint("concept_id", "variant"),
    Index("learning_atoms_concept_idx", "concept_id", "atom_type"),
    Index("learning_atoms_request_idx", "request_event_id"),
)


def _atom_row(atom: Atom, ev: Envelope, **extra: Any) -> dict[str, Any]:
    return {
        "id": atom.atom_id,
        "concept_id": atom.concept_id,
        "card_id": None,
        "atom_type": atom.atom_type.value,
        "front": atom.front,
        "back": atom.back,
        "knowledge_type": atom.knowledge_type.value,
        "tags": list(atom.tags),
        "is_hydrated": True,
        "fidelity_type": atom.fidelity_type,
        "source_fact_basis": list(atom.source_fact_basis),
        "quality_score": atom.quality_score,
        "created_at": ev.occurred_at,
        "content_type": atom.content_type.value,
        "variant": atom.variant,
        "trigger": None,
        "strategy": atom.strategy,
        "request_event_id": None,
        "atom": atom.model_dump(mode="json"),
    } | extra


class ContentProjection(EventProjection):
    name = "content"
    tables = (CONCEPTS, LEARNING_ATOMS)
    consumes = (ConceptImported, AtomImported, AtomsGenerated)
    # concepts and their atoms share the concept key

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        concepts: dict[Any, dict[str, Any]] = {}
        atoms: list[dict[str, Any]] = []
        answered = await _answered(conn, batch)
        for item in batch:
            ev = item.envelope
            p = ev.payload
            if isinstance(p, ConceptImported):
                concepts[p.concept_id] = {
                    "concept_id": p.concept_id,
                    "pack": p.pack,
                    "slug": p.slug,
                    "cluster_id": p.cluster_id,
                    "cluster_slug": p.cluster_slug,
                    "cluster_name": p.cluster_name,
                    "name": p.name,
                    "doc": p.model_dump(mode="json"),
                    "imported_at": ev.occurred_at,
                }
            elif isinstance(p, AtomImported):
                atoms.append(_atom_row(p.atom, ev, card_id=f"{p.pack}:{p.atom.variant}"))
            elif isinstance(p, AtomsGenerated) and p.request_event_id not in answered:
                answered.add(p.request_event_id)
                for atom in p.atoms:
                    atoms.append(
                        _atom_row(
                            atom, ev, trigger=p.trigger.value, request_event_id=p.request_event_id
                        )
                    )
        if concepts:
            stmt = insert(CONCEPTS).values(list(concepts.values()))
            stmt = stmt.on_conflict_do_update(
                index_elements=["concept_id"],
                set_={
                    c: stmt.excluded[c] for c in concepts[next(iter(concepts))] if c != "concept_id"
                },
            )
            await conn.execute(stmt)
        if atoms:
            await conn.execute(insert(LEARNING_ATOMS).on_conflict_do_nothing(), atoms)


async def _answered(conn: AsyncConnection, batch: Sequence[Applied]) -> set[uuid.UUID]:
    """The requests of the batch's generated atoms that already have atoms stored."""
    asked = {
        item.envelope.payload.request_event_id
        for item in batch
        if isinstance(item.envelope.payload, AtomsGenerated)
    }
    if not asked:
        return set()
    column = LEARNING_ATOMS.c.request_event_id
    found = await conn.execute(select(column).where(column.in_(asked)).distinct())
    return set(found.scalars())


# queries (the API and the CLI read through these) ----------------------------------
class AtomView(BaseModel):
    id: uuid.UUID
    concept_id: uuid.UUID
    atom_type: str
    front: str
    back: str
    knowledge_type: str
    content_type: str
    tags: list[str]
    fidelity_type: str
    source_fact_basis: list[str]
    quality_score: float
    trigger: str | None
    strategy: str | None
    created_at: datetime
    atom: dict[str, Any]


class JitStats(BaseModel):
    total_atoms: int
    jit_generated: int
    by_trigger: dict[str, int]


async def atoms_of(conn: AsyncConnection, concept_id: uuid.UUID) -> list[AtomView]:
    a = LEARNING_ATOMS.c
    stmt = select(LEARNING_ATOMS).where(a.concept_id == concept_id).order_by(a.created_at, a.id)
    return [AtomView.model_validate(r._mapping) for r in await conn.execute(stmt)]


async def atom_count(conn: AsyncConnection, concept_id: uuid.UUID) -> int | None:
    """Atoms of a concept, or None when the concept is unknown."""
    known = await conn.execute(
        select(CONCEPTS.c.concept_id).where(CONCEPTS.c.concept_id == concept_id)
    )
    if known.first() is None:
        return None
    stmt = select(func.count()).where(LEARNING_ATOMS.c.concept_id == concept_id)
    return int((await conn.execute(stmt)).scalar_one())


async def jit_stats(conn: AsyncConnection) -> JitStats:
    a = LEARNING_ATOMS.c
    total = int((await conn.execute(select(func.count()).select_from(LEARNING_ATOMS))).scalar_one())
    jit = a.tags.contains(["jit_generated"])
    rows = await conn.execute(select(a.trigger, func.count()).where(jit).group_by(a.trigger))
    by_trigger = {str(t): int(n) for t, n in rows}
    return JitStats(
        total_atoms=total, jit_generated=sum(by_trigger.values()), by_trigger=by_trigger
    )


async def concept_names(conn: AsyncConnection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the concepts the content read model knows (missing ones are left out)."""
    wanted = sorted(set(ids), key=str)
    if not wanted:
        return {}
    c = CONCEPTS.c
    try:
        rows = await conn.execute(select(c.concept_id, c.name).where(c.concept_id.in_(wanted)))
    except ProgrammingError:
        return {}  # the content read model is not built: ids it is
    return {r.concept_id: r.name for r in rows}
