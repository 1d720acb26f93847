"""Read-side queries shared by the HTTP API and the CLI."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import CHECKPOINTS
from projections.dead_letters import DEAD_LETTERS
from projections.learning import ATTEMPTS, DIAGNOSES, LEARNER_CONCEPTS
from projections.usage import GENERATION_USAGE

__all__ = [
    "AttemptView",
    "ConceptStandingView",
    "DeadLetterView",
    "DiagnosisView",
    "UsageStatsView",
    "attempts_of",
    "checkpoints",
    "dead_letters",
    "diagnoses_of",
    "fail_mode_counts",
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
    conn: AsyncConnection, *, limit: int = 50, offset: int = 0
) -> list[DeadLetterView]:
    c = DEAD_LETTERS.c
    stmt = (
        select(DEAD_LETTERS)
        .order_by(c.failed_at.desc(), c.dlq_topic, c.dlq_offset)
        .limit(limit)
        .offset(offset)
    )
    rows = []
    for r in await conn.execute(stmt):
        data = dict(r._mapping)
        data["original"] = bytes(data["original"]).decode("utf-8", errors="replace")
        rows.append(DeadLetterView.model_validate(data))
    return rows


async def fail_mode_counts(conn: AsyncConnection) -> dict[str, int]:
    c = DIAGNOSES.c
    rows = await conn.execute(select(c.fail_mode, func.count()).group_by(c.fail_mode))
    return {mode: int(n) for mode, n in rows}


async def totals(conn: AsyncConnection) -> dict[str, int]:
    out = {}
    for table in (ATTEMPTS, DIAGNOSES, LEARNER_CONCEPTS, DEAD_LETTERS):
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
