"""remediation_plans: the plan each diagnosed wrong answer got (one per diagnosis)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Envelope, derive_id
from events.content import AtomsGenerated
from events.learning import PLAN_ROLE, RemediationPlanned
from projections.base import Applied, EventProjection
from projections.db import METADATA
from services.settings import Latency

__all__ = [
    "REMEDIATION_PLANS",
    "PlanView",
    "RemediationProjection",
    "plans_of",
]

REMEDIATION_PLANS = Table(
    "remediation_plans",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("diagnosis_event_id", Uuid, nullable=False, unique=True),
    Column("answer_event_id", Uuid, nullable=False),
    Column("learner_id", String(128), nullable=False),
    Column("session_id", String(128), nullable=False),
    Column("concept_id", Uuid, nullable=False),
    Column("question_id", String(128), nullable=False),
    Column("fail_mode", String(32), nullable=False),
    Column("atoms", JSONB, nullable=False),
    Column("atom_count", Integer, nullable=False),
    Column("jit_requested", Boolean, nullable=False),
    Column("jit_generated", Integer, nullable=False),
    Column("from_cache", Boolean, nullable=False),
    Column("suggest_break", Boolean, nullable=False),
    Column("practice_only", Boolean, nullable=False),
    Column("note", Text, nullable=False),
    Column("errors", JSONB, nullable=False),
    Column("planned_at", DateTime(timezone=True), nullable=False),
    Column(
        "projected_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=func.clock_timestamp(),
    ),
    Index("remediation_plans_learner_idx", "learner_id", "question_id"),
)


class RemediationProjection(EventProjection):
    """Plans made at once come from ``remediation-planned``; a plan completed by
    generation comes from its ``atoms-generated`` (``completed_plan``), the event the
    content read model stores the atoms from. A diagnosis generated anew after a
    redelivery repeats both events' ids: the first atoms-generated gives the plan and
    the atoms, so the two read models agree on which atoms the plan lists. A plan from
    generation wins over a plan made at once for the same diagnosis (a redelivered
    diagnosis that found its atoms already stored), in whichever order they come, so
    replay, and partitions folded in parallel, give the same rows."""

    name = "remediation"
    tables = (REMEDIATION_PLANS,)
    consumes = (RemediationPlanned, AtomsGenerated)
    volatile_columns = frozenset({"projected_at"})
    latency = Latency.INTERACTIVE  # the plan a learner waits for after a wrong answer

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        at_once: dict[uuid.UUID, dict[str, Any]] = {}
        generated: dict[uuid.UUID, dict[str, Any]] = {}
        for item in batch:
            ev = item.envelope
            p = ev.payload
            if isinstance(p, AtomsGenerated):
                plan = p.completed_plan()
                if plan is not None:
                    plan_id = derive_id(plan.diagnosis_event_id, PLAN_ROLE)
                    generated.setdefault(plan.diagnosis_event_id, _row(plan_id, plan, ev))
            elif isinstance(p, RemediationPlanned) and not p.jit_requested:
                at_once.setdefault(p.diagnosis_event_id, _row(ev.event_id, p, ev))
        rows = [r for d, r in at_once.items() if d not in generated]
        # Statements built once and given the rows as parameters: compiled once.
        if rows:
            await conn.execute(_INSERT_AT_ONCE, rows)
        if generated:
            await conn.execute(_UPSERT_GENERATED, list(generated.values()))


_COLUMNS = [c.name for c in REMEDIATION_PLANS.c if c.name != "projected_at"]
_INSERT_AT_ONCE = insert(REMEDIATION_PLANS).on_conflict_do_nothing()
_insert = insert(REMEDIATION_PLANS)
# A generated plan replaces a plan made at once, never another generated one.
_UPSERT_GENERATED = _insert.on_conflict_do_update(
    index_elements=[REMEDIATION_PLANS.c.diagnosis_event_id],
    set_={k: _insert.excluded[k] for k in _COLUMNS if k != "diagnosis_event_id"},
    where=REMEDIATION_PLANS.c.jit_requested.is_(False),
)


def _row(event_id: uuid.UUID, p: RemediationPlanned, ev: Envelope) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "diagnosis_event_id": p.diagnosis_event_id,
        "answer_event_id": p.answer_event_id,
        "learner_id": p.learner_id,
        "session_id": p.session_id,
        "concept_id": p.concept_id,
        "question_id": p.question_id,
        "fail_mode": p.fail_mode.value,
        "atoms": [a.model_dump(mode="json") for a in p.atoms],
        "atom_count": len(p.atoms),
        "jit_requested": p.jit_requested,
        "jit_generated": p.jit_generated,
        "from_cache": p.from_cache,
        "suggest_break": p.suggest_break,
        "practice_only": p.practice_only,
        "note": p.note,
        "errors": list(p.errors),
        "planned_at": ev.occurred_at,
    }


# queries (the API and the CLI read through these) ----------------------------------
class PlanView(BaseModel):
    event_id: uuid.UUID
    diagnosis_event_id: uuid.UUID
    answer_event_id: uuid.UUID
    learner_id: str
    session_id: str
    concept_id: uuid.UUID
    question_id: str
    fail_mode: str
    atoms: list[dict[str, Any]]
    jit_requested: bool
    jit_generated: int
    from_cache: bool
    suggest_break: bool
    practice_only: bool
    note: str
    errors: list[str]
    planned_at: datetime


async def plans_of(
    conn: AsyncConnection, learner_id: str, *, question_id: str | None = None, limit: int = 20
) -> list[PlanView]:
    p = REMEDIATION_PLANS.c
    stmt = select(REMEDIATION_PLANS).where(p.learner_id == learner_id)
    if question_id is not None:
        stmt = stmt.where(p.question_id == question_id)
    stmt = stmt.order_by(p.planned_at.desc(), p.event_id).limit(limit)
    return [PlanView.model_validate(r._mapping) for r in await conn.execute(stmt)]
