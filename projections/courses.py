"""Course read models: ``courses`` (status, the selected course, the job summary) and
``course_candidates`` (each candidate attempt: diversity, score, breakdown, issues,
similarity, status); ``course_events`` records the event ids folded in.

A course is GENERATING from its request until the fan-in finishes it: SELECTED,
NEEDS_ATTENTION (the seed's 422 body is kept in ``details``) or FAILED. A
candidate is REQUESTED, GENERATED, SCORED or FAILED, and SELECTED when chosen.
Every event is applied once: its id goes into ``course_events`` first (insert,
ignoring a conflict) and only a new id changes the other tables, so duplicates and
redeliveries change nothing and a replay rebuilds the same rows. Nothing here
calls a model: generated content comes from the events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from events import Context, Envelope, TopicNames
from events.common import GenerationUsage
from events.courses import (
    CandidateScored,
    CourseCandidateFailed,
    CourseCandidateGenerated,
    CourseCandidateRequested,
    CourseFailed,
    CourseNeedsAttention,
    CourseRequested,
    CourseSelected,
    PedagogicalApproach,
    SimilarityPair,
)
from projections.base import Applied
from projections.db import METADATA
from services.settings import Latency

__all__ = [
    "COURSES",
    "COURSE_CANDIDATES",
    "COURSE_EVENTS",
    "CandidateView",
    "CourseView",
    "CoursesProjection",
    "JobSummaryView",
    "answer_of",
    "candidates_of",
    "course_of",
    "statements_for",
]

COURSES = Table(
    "courses",
    METADATA,
    Column("course_id", Uuid, primary_key=True),
    Column("subject", String(80), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("topic", String(120)),
    Column("groups", Integer, nullable=False),
    Column("items_per_group", Integer, nullable=False),
    Column("modes", JSONB, nullable=False),
    Column("strategy", String(16)),  # as requested (None: the settings')
    Column("status", String(16), nullable=False),  # GENERATING, SELECTED, NEEDS_ATTENTION, FAILED
    # the seed's job summary
    Column("method", String(16)),
    Column("candidate_count", Integer),
    Column("selected_index", Integer),
    Column("selected_score", Float),
    Column("min_viable_score", Float),
    Column("review_threshold", Float),
    Column("total_tokens", Integer),
    Column("latency_ms", Integer),
    Column("course", JSONB),  # the selected course
    Column("valid", Boolean),  # the selected course is a valid Course v2
    Column("issues", JSONB, nullable=False, server_default="[]"),
    Column("error", String(64)),
    Column("details", JSONB),  # NEEDS_ATTENTION: the seed's 422 body; FAILED: why
    Column("warnings", JSONB, nullable=False, server_default="[]"),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

COURSE_CANDIDATES = Table(
    "course_candidates",
    METADATA,
    Column("course_id", Uuid, primary_key=True),
    Column("candidate_index", Integer, primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("approach", String(32), nullable=False),
    Column("temperature", Float, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("strategy", String(64)),  # what made it: rules, llm, rules_fallback
    Column("status", String(16), nullable=False),  # REQUESTED GENERATED SCORED FAILED SELECTED
    Column("score", Float),
    Column("breakdown", JSONB),
    Column("self_review", JSONB),
    Column("issues", JSONB, nullable=False, server_default="[]"),
    Column("item_count", Integer),
    Column("valid", Boolean),
    Column("similarity", Float),  # the highest cosine against another candidate
    Column("tokens", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("course", JSONB),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

COURSE_EVENTS = Table(
    "course_events",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("course_id", Uuid, nullable=False, index=True),
    Column("event_type", String(100), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

_TYPES = frozenset(
    {
        CourseRequested.event_type,
        CourseCandidateRequested.event_type,
        CourseCandidateGenerated.event_type,
        CandidateScored.event_type,
        CourseCandidateFailed.event_type,
        CourseSelected.event_type,
        CourseNeedsAttention.event_type,
        CourseFailed.event_type,
    }
)


class _Diverse(Protocol):
    """What a candidate's diversity constraint says (a plan's or a scored candidate's)."""

    @property
    def approach(self) -> PedagogicalApproach: ...

    @property
    def temperature(self) -> float: ...

    @property
    def seed(self) -> int: ...


def _candidate(
    course_id: uuid.UUID, index: int, attempt: int, d: _Diverse, at: datetime, status: str
) -> dict[str, Any]:
    return {
        "course_id": course_id,
        "candidate_index": index,
        "attempt": attempt,
        "approach": d.approach.value,
        "temperature": d.temperature,
        "seed": d.seed,
        "status": status,
        "updated_at": at,
    }


def _tokens(usage: GenerationUsage | None) -> int:
    return usage.input_tokens + usage.output_tokens if usage else 0


def _candidate_upsert(values: dict[str, Any], *, only_from: str | None = None) -> Executable:
    stmt = insert(COURSE_CANDIDATES).values(**values)
    keys = ("course_id", "candidate_index", "attempt")
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={k: stmt.excluded[k] for k in values if k not in keys},
        where=(COURSE_CANDIDATES.c.status == only_from) if only_from else None,
    )
    return stmt


def _similarity(course_id: uuid.UUID, pairs: Sequence[SimilarityPair]) -> list[Executable]:
    highest: dict[int, float] = {}
    for p in pairs:
        for i in (p.a, p.b):
            highest[i] = max(highest.get(i, 0.0), p.cosine)
    c = COURSE_CANDIDATES.c
    return [
        COURSE_CANDIDATES.update()
        .where(c.course_id == course_id, c.candidate_index == i)
        .values(similarity=value)
        for i, value in sorted(highest.items())
    ]


def _finished(course_id: uuid.UUID, at: datetime, **values: Any) -> Executable:
    return COURSES.update().where(COURSES.c.course_id == course_id).values(finished_at=at, **values)


def statements_for(ev: Envelope) -> list[Executable]:
    """The writes one (new) event makes; pure, so it can be read without a database."""
    p, at = ev.payload, ev.occurred_at
    if isinstance(p, CourseRequested):
        row = {
            "course_id": p.course_id,
            "subject": p.subject,
            "grade": p.grade,
            "topic": p.topic,
            "groups": p.groups,
            "items_per_group": p.items_per_group,
            "modes": [m.value for m in p.modes],
            "strategy": p.strategy,
            "status": "GENERATING",
            "requested_at": at,
        }
        return [insert(COURSES).values(**row).on_conflict_do_nothing()]
    if isinstance(p, CourseCandidateRequested):
        plan, d = p.plan, p.plan.diversity
        row = _candidate(p.course_id, plan.candidate_index, plan.attempt, d, at, "REQUESTED")
        return [
            insert(COURSE_CANDIDATES).values(**row).on_conflict_do_nothing(),
            COURSES.update()
            .where(COURSES.c.course_id == p.course_id)
            .values(
                method=plan.method,
                candidate_count=plan.candidate_count,
                min_viable_score=plan.min_viable_score,
                review_threshold=plan.review_threshold,
                strategy=plan.strategy,
            ),
        ]
    if isinstance(p, CourseCandidateGenerated):
        plan, d = p.plan, p.plan.diversity
        row = _candidate(p.course_id, plan.candidate_index, plan.attempt, d, at, "GENERATED")
        row |= {
            "strategy": p.usage.strategy,
            "tokens": _tokens(p.usage),
            "course": p.course.model_dump(mode="json"),
        }
        return [_candidate_upsert(row, only_from="REQUESTED")]
    if isinstance(p, CandidateScored):
        row = _candidate(p.course_id, p.candidate_index, p.attempt, p, at, "SCORED")
        row |= {
            "strategy": p.strategy,
            "score": p.score,
            "breakdown": p.breakdown.model_dump(mode="json"),
            "self_review": p.self_review.model_dump(mode="json") if p.self_review else None,
            "issues": list(p.issues),
            "item_count": p.item_count,
            "valid": p.valid,
            "tokens": p.generation_tokens + _tokens(p.usage),
            "course": p.course.model_dump(mode="json"),
        }
        return [_candidate_upsert(row)]
    if isinstance(p, CourseCandidateFailed):
        row = _candidate(p.course_id, p.candidate_index, p.attempt, p, at, "FAILED")
        row |= {"tokens": _tokens(p.usage), "error": f"{p.stage} {p.reason}: {p.error}"}
        return [_candidate_upsert(row)]
    if isinstance(p, CourseSelected | CourseNeedsAttention | CourseFailed):
        return _finish(p, at)
    return []


def _finish(
    p: CourseSelected | CourseNeedsAttention | CourseFailed, at: datetime
) -> list[Executable]:
    summary = p.summary.model_dump(mode="json")
    if isinstance(p, CourseSelected):
        c = COURSE_CANDIDATES.c
        return [
            _finished(
                p.course_id,
                at,
                status="SELECTED",
                course=p.course.model_dump(mode="json"),
                valid=p.valid,
                issues=list(p.issues),
                warnings=list(p.warnings),
                **summary,
            ),
            *_similarity(p.course_id, p.similarity),
            COURSE_CANDIDATES.update()
            .where(
                c.course_id == p.course_id,
                c.candidate_index == p.selected_index,
                c.attempt == p.attempt,
            )
            .values(status="SELECTED"),
        ]
    if isinstance(p, CourseNeedsAttention):
        return [
            _finished(
                p.course_id,
                at,
                status="NEEDS_ATTENTION",
                error=p.error,
                details=p.body(),
                warnings=list(p.warnings),
                **summary,
            ),
            *_similarity(p.course_id, p.similarity),
        ]
    # the rest: CourseFailed
    return [
        _finished(
            p.course_id,
            at,
            status="FAILED",
            error=p.reason,
            details={"error": p.reason, "code": "failed", "details": {"failures": p.failures}},
            warnings=list(p.failures),
            **summary,
        )
    ]


class CoursesProjection:
    name = "courses"
    decodes = True
    tables = (COURSES, COURSE_CANDIDATES, COURSE_EVENTS)
    volatile_columns: frozenset[str] = frozenset()
    partition_local = True  # everything of a course is keyed by its id
    latency = Latency.BULK

    def topics(self, names: TopicNames) -> list[str]:
        return [names.domain(Context.COURSES)]

    def wants(self, event_type: str | None) -> bool:
        return event_type in _TYPES

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        # A course's events arrive in order on one partition; courses are few and
        # small, so events are applied one by one, each only if its id is new.
        for item in batch:
            ev = item.envelope
            course_id = getattr(ev.payload, "course_id", None)
            if course_id is None:
                continue
            fresh = await conn.execute(
                insert(COURSE_EVENTS)
                .values(
                    event_id=ev.event_id,
                    course_id=course_id,
                    event_type=ev.event_type,
                    occurred_at=ev.occurred_at,
                )
                .on_conflict_do_nothing()
                .returning(COURSE_EVENTS.c.event_id)
            )
            if fresh.first() is None:
                continue  # seen before: a duplicate or a redelivery
            for stmt in statements_for(ev):
                await conn.execute(stmt)


# Queries ------------------------------------------------------------------------------------
class JobSummaryView(BaseModel):
    method: str | None
    candidate_count: int | None
    selected_index: int | None
    selected_score: float | None
    min_viable_score: float | None
    total_tokens: int | None
    latency_ms: int | None


class CourseView(BaseModel):
    course_id: uuid.UUID
    subject: str
    grade: int
    topic: str | None
    groups: int
    items_per_group: int
    modes: list[str]
    strategy: str | None
    status: str
    summary: JobSummaryView
    review_threshold: float | None
    course: dict[str, Any] | None
    valid: bool | None
    issues: list[str]
    error: str | None
    details: dict[str, Any] | None
    warnings: list[str]
    requested_at: datetime
    finished_at: datetime | None


class CandidateView(BaseModel):
    candidate_index: int
    attempt: int
    approach: str
    temperature: float
    seed: int
    strategy: str | None
    status: str
    score: float | None
    breakdown: dict[str, float] | None
    self_review: dict[str, float] | None
    issues: list[str]
    item_count: int | None
    valid: bool | None
    similarity: float | None
    tokens: int
    error: str | None
    course: dict[str, Any] | None
    updated_at: datetime


_SUMMARY = tuple(JobSummaryView.model_fields)


async def course_of(conn: AsyncConnection, course_id: uuid.UUID) -> CourseView | None:
    """A course with its status and job summary (None when unknown)."""
    row = (await conn.execute(select(COURSES).where(COURSES.c.course_id == course_id))).first()
    if row is None:
        return None
    data = dict(row._mapping)
    data["summary"] = {k: data.pop(k) for k in _SUMMARY}
    return CourseView.model_validate(data)


async def candidates_of(conn: AsyncConnection, course_id: uuid.UUID) -> list[CandidateView]:
    """The course's candidates by index, each attempt in order."""
    c = COURSE_CANDIDATES.c
    rows = await conn.execute(
        select(COURSE_CANDIDATES)
        .where(c.course_id == course_id)
        .order_by(c.candidate_index, c.attempt)
    )
    return [CandidateView.model_validate(r._mapping) for r in rows]


def answer_of(view: CourseView) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body a finished (or still running) course answers with:
    200 with the course, 422 with the seed's needs_attention body, 502 when every
    candidate failed, 202 while it is generating."""
    if view.status == "SELECTED":
        return 200, {
            "course_id": str(view.course_id),
            "status": view.status,
            "course": view.course,
            "valid": view.valid,
            "summary": view.summary.model_dump(),
            "issues": view.issues,
            "warnings": view.warnings,
        }
    if view.status in ("NEEDS_ATTENTION", "FAILED") and view.details is not None:
        return (422 if view.status == "NEEDS_ATTENTION" else 502), dict(view.details)
    return 202, {"course_id": str(view.course_id), "status": view.status}
