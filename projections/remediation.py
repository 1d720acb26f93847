"""remediation_plans: the plan each diagnosed wrong answer got (one per diagnosis)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Context, TopicNames
from events.learning import RemediationPlanned
from projections.base import Applied
from projections.db import METADATA

__all__ = ["REMEDIATION_PLANS", "RemediationProjection"]

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


class RemediationProjection:
    name = "remediation"
    decodes = True
    tables = (REMEDIATION_PLANS,)
    volatile_columns = frozenset({"projected_at"})
    partition_local = True  # plans are keyed by learner
    _types = frozenset({RemediationPlanned.event_type})

    def topics(self, names: TopicNames) -> list[str]:
        return [names.domain(Context.LEARNING)]

    def wants(self, event_type: str | None) -> bool:
        return event_type in self._types

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        rows = []
        for item in batch:
            ev = item.envelope
            p = ev.payload_as(RemediationPlanned)
            rows.append(
                {
                    "event_id": ev.event_id,
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
            )
        if rows:
            await conn.execute(insert(REMEDIATION_PLANS).on_conflict_do_nothing(), rows)
