"""Read-side queries shared by the HTTP API and the CLI."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import CHECKPOINTS
from projections.content import CONCEPTS, LEARNING_ATOMS
from projections.dead_letters import DEAD_LETTER_REPLAYS, DEAD_LETTERS
from projections.learning import ATTEMPTS, DIAGNOSES, LEARNER_CONCEPTS
from projections.remediation import REMEDIATION_PLANS
from projections.usage import GENERATION_USAGE

__all__ = [
    "AtomView",
    "AttemptView",
    "ConceptStandingView",
    "DeadLetterView",
    "DiagnosisView",
    "JitStats",
    "PlanView",
    "UsageStatsView",
    "atom_count",
    "atoms_of",
    "attempts_of",
    "checkpoints",
    "dead_letters",
    "diagnoses_of",
    "fail_mode_counts",
    "jit_stats",
    "plans_of",
    "standing_of",
    "totals",
    "usage_stats",
]


class DiagnosisView(BaseModel):
    event_id: uuid.UUID
    answer_event_id: uuid.UUID
    learner_id: str
    session_id: str
    concept_id: uuid.UUID
    question_id: str
    fail_mode: str
    confidence: float
    rationale: str
    evidence: dict[str, Any]
    diagnosed_at: datetime


class AttemptView(BaseModel):
    event_id: uuid.UUID
    learner_id: str
    session_id: str
    concept_id: uuid.UUID
    question_id: str
    question_kind: str
    correct: bool
    response_time_ms: int
    answer_given: str
    answered_at: datetime


class ConceptStandingView(BaseModel):
    learner_id: str
    concept_id: uuid.UUID
    attempts: int
    correct: int
    misses: int
    last_answered_at: datetime | None
    last_fail_mode: str | None


class DeadLetterView(BaseModel):
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    agent: str
    kind: str
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    event_type: str | None
    failed_at: datetime
    original: str  # the original bytes, decoded leniently for display
    replayed_at: datetime | None = None  # when its original was republished (`nls dlq replay`)


class UsageStatsView(BaseModel):
    """Generation calls of one family, strategy and provider; fallbacks count under the
    strategy that failed (``fallback_from``)."""

    family: str
    strategy: str
    provider: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float
    latency_p50_ms: float
    latency_p95_ms: float
    fallback_rate: float


async def usage_stats(
    conn: AsyncConnection, *, family: str | None = None, since: datetime | None = None
) -> list[UsageStatsView]:
    c = GENERATION_USAGE.c
    strategy = func.coalesce(c.fallback_from, c.strategy).label("strategy")
    stmt = (
        select(
            c.family,
            strategy,
            c.provider,
            func.count().label("calls"),
            func.sum(c.input_tokens).label("input_tokens"),
            func.sum(c.output_tokens).label("output_tokens"),
            func.sum(c.cached_tokens).label("cached_tokens"),
            func.sum(c.cost_usd).label("cost_usd"),
            func.percentile_cont(0.5).within_group(c.latency_ms).label("latency_p50_ms"),
            func.percentile_cont(0.95).within_group(c.latency_ms).label("latency_p95_ms"),
            func.avg(cast(case((c.fallback_from.is_not(None), 1), else_=0), Float)).label(
                "fallback_rate"
            ),
        )
        .group_by(c.family, strategy, c.provider)
        .order_by(c.family, strategy, c.provider)
    )
    if family is not None:
        stmt = stmt.where(c.family == family)
    if since is not None:
        stmt = stmt.where(c.occurred_at >= since)
    return [UsageStatsView.model_validate(r._mapping) for r in await conn.execute(stmt)]


async def diagnoses_of(
    conn: AsyncConnection, learner_id: str, *, limit: int = 50, offset: int = 0
) -> list[DiagnosisView]:
    c = DIAGNOSES.c
    stmt = (
        select(*[col for col in DIAGNOSES.c if col.name != "projected_at"])
        .where(c.learner_id == learner_id)
        .order_by(c.diagnosed_at.desc(), c.event_id)
        .limit(limit)
        .offset(offset)
    )
    return [DiagnosisView.model_validate(r._mapping) for r in await conn.execute(stmt)]


async def attempts_of(
    conn: AsyncConnection, learner_id: str, *, limit: int = 50, offset: int = 0
) -> list[AttemptView]:
    c = ATTEMPTS.c
    stmt = (
        select(ATTEMPTS)
        .where(c.learner_id == learner_id)
        .order_by(c.answered_at.desc(), c.event_id)
        .limit(limit)
        .offset(offset)
    )
    return [AttemptView.model_validate(r._mapping) for r in await conn.execute(stmt)]


async def standing_of(conn: AsyncConnection, learner_id: str) -> list[ConceptStandingView]:
    c = LEARNER_CONCEPTS.c
    stmt = select(LEARNER_CONCEPTS).where(c.learner_id == learner_id).order_by(c.concept_id)
    return [ConceptStandingView.model_validate(r._mapping) for r in await conn.execute(stmt)]


async def dead_letters(
    conn: AsyncConnection,
    *,
    limit: int = 50,
    offset: int = 0,
    agent: str | None = None,
    kind: str | None = None,
    replayed: bool | None = None,
) -> list[DeadLetterView]:
    """Dead letters, newest first; ``replayed`` selects replayed (True) or pending (False)."""
    c, r = DEAD_LETTERS.c, DEAD_LETTER_REPLAYS.c
    # A replay marks the original, so every dead letter of it (one per failing reader).
    replays = (
        select(
            r.source_topic,
            r.source_partition,
            r.source_offset,
            func.min(r.replayed_at).label("replayed_at"),
        )
        .group_by(r.source_topic, r.source_partition, r.source_offset)
        .subquery()
    )
    joined = DEAD_LETTERS.outerjoin(
        replays,
        (replays.c.source_topic == c.source_topic)
        & (replays.c.source_partition == c.source_partition)
        & (replays.c.source_offset == c.source_offset),
    )
    stmt = select(DEAD_LETTERS, replays.c.replayed_at).select_from(joined)
    if agent is not None:
        stmt = stmt.where(c.agent == agent)
    if kind is not None:
        stmt = stmt.where(c.kind == kind)
    if replayed is not None:
        has = replays.c.replayed_at.is_not(None)
        stmt = stmt.where(has if replayed else ~has)
    order = (c.failed_at.desc(), c.dlq_topic, c.dlq_partition, c.dlq_offset)
    stmt = stmt.order_by(*order).limit(limit).offset(offset)
    rows = []
    for row in await conn.execute(stmt):
        data = dict(row._mapping)
        data["original"] = bytes(data["original"]).decode("utf-8", errors="replace")
        rows.append(DeadLetterView.model_validate(data))
    return rows


async def fail_mode_counts(conn: AsyncConnection) -> dict[str, int]:
    c = DIAGNOSES.c
    rows = await conn.execute(select(c.fail_mode, func.count()).group_by(c.fail_mode))
    return {mode: int(n) for mode, n in rows}


async def totals(conn: AsyncConnection) -> dict[str, int]:
    out = {}
    tables = (ATTEMPTS, DIAGNOSES, LEARNER_CONCEPTS, REMEDIATION_PLANS, CONCEPTS, LEARNING_ATOMS)
    for table in (*tables, GENERATION_USAGE, DEAD_LETTERS):
        out[table.name] = int(
            (await conn.execute(select(func.count()).select_from(table))).scalar_one()
        )
    out["learners"] = int(
        (await conn.execute(select(func.count(func.distinct(ATTEMPTS.c.learner_id))))).scalar_one()
    )
    return out


async def checkpoints(conn: AsyncConnection) -> dict[tuple[str, str, int], int]:
    c = CHECKPOINTS.c
    rows = await conn.execute(select(c.projection, c.topic, c.partition, c.next_offset))
    return {(p, t, part): int(o) for p, t, part, o in rows}


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


async def plans_of(
    conn: AsyncConnection, learner_id: str, *, question_id: str | None = None, limit: int = 20
) -> list[PlanView]:
    p = REMEDIATION_PLANS.c
    stmt = select(REMEDIATION_PLANS).where(p.learner_id == learner_id)
    if question_id is not None:
        stmt = stmt.where(p.question_id == question_id)
    stmt = stmt.order_by(p.planned_at.desc(), p.event_id).limit(limit)
    return [PlanView.model_validate(r._mapping) for r in await conn.execute(stmt)]


async def jit_stats(conn: AsyncConnection) -> JitStats:
    a = LEARNING_ATOMS.c
    total = int((await conn.execute(select(func.count()).select_from(LEARNING_ATOMS))).scalar_one())
    jit = a.tags.contains(["jit_generated"])
    rows = await conn.execute(select(a.trigger, func.count()).where(jit).group_by(a.trigger))
    by_trigger = {str(t): int(n) for t, n in rows}
    return JitStats(
        total_atoms=total, jit_generated=sum(by_trigger.values()), by_trigger=by_trigger
    )
