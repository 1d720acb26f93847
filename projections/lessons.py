"""Lesson read models: ``lessons``, ``lesson_phases`` and ``lesson_versions``, with their queries.

- ``lessons``: one row a lesson: status (``generating`` -> ``scoring`` ->
  ``refining`` -> ``completed``, or ``failed``), the current version and its
  score, the score history (every score with its purpose and method), tokens
  and estimated cost over all its model calls (each call's usage is carried by
  one event, failed calls' included, and added once);
- ``lesson_phases``: one row a phase (1-10): requested, completed or skipped
  (with why), its strategy, timing, tokens and output;
- ``lesson_versions``: the original (``version_key`` ``original``) and one row
  per refinement (keyed by its id): its outcome, why, the validation failures of
  a rejected rewrite, the candidate's score and content; the row that is the
  lesson now has ``status`` ``current``.

Every event is applied once (``lesson_applied_events`` remembers its id in the
same transaction), rows depend on nothing but the events, and timestamps come
from the events, so a replay gives the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    cast,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from events import Context, Envelope, TopicNames
from events.common import GenerationUsage
from events.lessons import (
    LessonCompleted,
    LessonFailed,
    LessonPhase,
    LessonPhaseCompleted,
    LessonPhaseRequested,
    LessonRefined,
    LessonRequested,
    LessonRewriteProposed,
    LessonRewriteRequested,
    LessonScored,
    RefinementOutcome,
    RefinementTrigger,
    ScoringPurpose,
)
from projections.base import Applied
from projections.db import METADATA
from services.settings import Latency

__all__ = [
    "LESSONS",
    "LESSON_APPLIED",
    "LESSON_PHASES",
    "LESSON_VERSIONS",
    "LessonSummary",
    "LessonView",
    "LessonsProjection",
    "PhaseView",
    "VersionView",
    "lesson_of",
    "lessons_list",
    "phase_completed",
    "phases_of",
    "refinement_of",
    "statements_for",
    "versions_of",
]

ORIGINAL = "original"

LESSONS = Table(
    "lessons",
    METADATA,
    Column("lesson_id", String(64), primary_key=True),
    Column("pack", String(64), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("section", String(200), nullable=False),
    Column("strategy", String(16), nullable=False),
    Column("must_have_topics", JSONB, nullable=False, server_default="[]"),
    Column("status", String(16), nullable=False),
    Column("title", Text),
    Column("layout", String(16)),
    Column("current_version", Integer, nullable=False, server_default="0"),
    Column("score", Float),
    Column("score_history", JSONB, nullable=False, server_default="[]"),
    Column("input_tokens", Integer, nullable=False, server_default="0"),
    Column("output_tokens", Integer, nullable=False, server_default="0"),
    Column("cost_usd", Float, nullable=False, server_default="0"),
    Column("failure", Text),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

LESSON_PHASES = Table(
    "lesson_phases",
    METADATA,
    Column("lesson_id", String(64), primary_key=True),
    Column("phase", String(32), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # requested, completed, skipped
    Column("strategy", String(40)),
    Column("prompt_version", String(80)),
    Column("duration_ms", Integer),
    Column("input_tokens", Integer, nullable=False, server_default="0"),
    Column("output_tokens", Integer, nullable=False, server_default="0"),
    Column("skipped_reason", Text),
    Column("output", JSONB),
    Column("requested_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
)

LESSON_VERSIONS = Table(
    "lesson_versions",
    METADATA,
    Column("lesson_id", String(64), primary_key=True),
    Column("version_key", String(40), primary_key=True),  # "original" or the refinement id
    Column("version", Integer),  # the version number it became (applied only)
    Column("trigger", String(16)),  # auto, improve (refinements)
    Column("status", String(24), nullable=False),
    Column("outcome", String(24)),
    Column("reason", Text),
    Column("validation_failures", JSONB, nullable=False, server_default="[]"),
    Column("original_score", Float),
    Column("score", Float),
    Column("applied", Boolean, nullable=False, server_default="false"),
    Column("shadow", Boolean, nullable=False, server_default="false"),
    Column("lesson", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
)

LESSON_APPLIED = Table(
    "lesson_applied_events",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
)


def _tokens(usage: GenerationUsage | None) -> dict[str, Any]:
    if usage is None:
        return {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": usage.cost_usd,
    }


class LessonsProjection:
    name = "lessons"
    decodes = True
    tables = (LESSONS, LESSON_PHASES, LESSON_VERSIONS, LESSON_APPLIED)
    volatile_columns: frozenset[str] = frozenset()
    partition_local = True  # everything of a lesson is keyed by it
    latency = Latency.BULK
    _types = frozenset(
        {
            LessonRequested.event_type,
            LessonPhaseRequested.event_type,
            LessonPhaseCompleted.event_type,
            LessonScored.event_type,
            LessonRewriteRequested.event_type,
            LessonRewriteProposed.event_type,
            LessonRefined.event_type,
            LessonCompleted.event_type,
            LessonFailed.event_type,
        }
    )

    def topics(self, names: TopicNames) -> list[str]:
        return [names.domain(Context.LESSONS)]

    def wants(self, event_type: str | None) -> bool:
        return event_type in self._types

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        # A lesson's events arrive in order and lessons are few: one by one, each once.
        for item in batch:
            ev = item.envelope
            fresh = await conn.execute(
                insert(LESSON_APPLIED)
                .values(event_id=ev.event_id)
                .on_conflict_do_nothing()
                .returning(LESSON_APPLIED.c.event_id)
            )
            if fresh.first() is not None:
                for stmt in statements_for(ev):
                    await conn.execute(stmt)


def statements_for(ev: Envelope) -> list[Executable]:
    """The writes one event makes, in order (pure: they depend on the event alone)."""
    p = ev.payload
    if isinstance(p, LessonRequested):
        return [
            insert(LESSONS)
            .values(
                lesson_id=p.lesson_id,
                pack=p.pack,
                unit=p.unit,
                topic=p.topic,
                section=p.section,
                strategy=p.strategy,
                must_have_topics=list(p.must_have_topics),
                status="generating",
                requested_at=ev.occurred_at,
            )
            .on_conflict_do_nothing()
        ]
    if isinstance(p, LessonPhaseRequested):
        return [
            insert(LESSON_PHASES)
            .values(
                lesson_id=p.lesson_id,
                phase=p.phase.value,
                number=p.phase.number,
                status="requested",
                requested_at=ev.occurred_at,
            )
            .on_conflict_do_nothing()
        ]
    if isinstance(p, LessonPhaseCompleted):
        return _phase(ev, p)
    if isinstance(p, LessonScored):
        return _scored(ev, p)
    if isinstance(p, LessonRewriteRequested):
        # The pipeline's own Phase 10 is part of the lesson's making; improve-lesson
        # leaves a completed lesson completed.
        auto = p.trigger is RefinementTrigger.AUTO
        return [
            _lesson(p.lesson_id, None, **({"status": "refining"} if auto else {})),
            insert(LESSON_VERSIONS)
            .values(
                lesson_id=p.lesson_id,
                version_key=str(p.refinement_id),
                trigger=p.trigger.value,
                status="rewriting",
                original_score=p.report.total,
                created_at=ev.occurred_at,
            )
            .on_conflict_do_nothing(),
        ]
    if isinstance(p, LessonRewriteProposed):
        v = LESSON_VERSIONS.c
        return [
            LESSON_VERSIONS.update()
            .where(v.lesson_id == p.lesson_id, v.version_key == str(p.refinement_id))
            .values(status="scoring", lesson=p.candidate),
            _lesson(p.lesson_id, p.usage),
        ]
    if isinstance(p, LessonRefined):
        return _refined(ev, p)
    if isinstance(p, LessonCompleted):
        return [
            _lesson(
                p.lesson_id,
                None,
                status="completed",
                current_version=p.version,
                score=p.score,
                completed_at=ev.occurred_at,
            )
        ]
    if isinstance(p, LessonFailed):
        return [
            _lesson(
                p.lesson_id,
                None,
                status="failed",
                failure=f"{p.phase.value}: {p.reason}",
                completed_at=ev.occurred_at,
            )
        ]
    return []


def _shown_usage(p: LessonPhaseCompleted) -> GenerationUsage | None:
    """The usage a phase row shows: its own, or (Phase 10) the rewrite's, which the
    rewriter's event carried and counted, copied into the record's output."""
    if p.usage is not None:
        return p.usage
    shown = p.output.get("usage")
    return GenerationUsage.model_validate(shown) if isinstance(shown, dict) else None


def _phase(ev: Envelope, p: LessonPhaseCompleted) -> list[Executable]:
    usage = _shown_usage(p)
    values = {
        "number": p.phase.number,
        "status": p.status.value,
        "strategy": usage.strategy if usage else None,
        "prompt_version": usage.prompt_version if usage else None,
        "duration_ms": p.duration_ms,
        "input_tokens": usage.input_tokens if usage else 0,
        "output_tokens": usage.output_tokens if usage else 0,
        "skipped_reason": p.skipped_reason,
        "output": p.output or None,
        "completed_at": ev.occurred_at,
    }
    stmt = insert(LESSON_PHASES).values(
        lesson_id=p.lesson_id, phase=p.phase.value, requested_at=ev.occurred_at, **values
    )
    out: list[Executable] = [
        stmt.on_conflict_do_update(index_elements=["lesson_id", "phase"], set_=values)
    ]
    update: dict[str, Any] = {}
    lesson = p.output.get("lesson")
    if p.phase is LessonPhase.ASSEMBLER and isinstance(lesson, dict):
        update = {
            "status": "scoring",
            "title": lesson.get("title"),
            "layout": lesson.get("layout"),
            "current_version": 1,
        }
        out.append(
            insert(LESSON_VERSIONS)
            .values(
                lesson_id=p.lesson_id,
                version_key=ORIGINAL,
                version=1,
                status="current",
                lesson=lesson,
                created_at=ev.occurred_at,
            )
            .on_conflict_do_nothing()
        )
    out.append(_lesson(p.lesson_id, p.usage, **update))
    return out


def _scored(ev: Envelope, p: LessonScored) -> list[Executable]:
    entry = {
        "purpose": p.purpose.value,
        "refinementId": str(p.refinement_id) if p.refinement_id else None,
        "total": p.report.total if p.report else None,
        "grade": p.report.grade if p.report else None,
        "method": p.report.method if p.report else None,
        "error": p.error,
        "at": ev.occurred_at.isoformat(),
    }
    c, v = LESSONS.c, LESSON_VERSIONS.c
    appended = cast(literal(orjson.dumps([entry]).decode()), JSONB)
    values: dict[str, Any] = {"score_history": c.score_history.op("||")(appended)}
    if p.purpose is ScoringPurpose.ORIGINAL and p.report is not None:
        values["score"] = p.report.total
        key = ORIGINAL
    else:
        key = str(p.refinement_id)
    out: list[Executable] = [_lesson(p.lesson_id, p.usage, **values)]
    if p.report is not None:
        out.append(
            LESSON_VERSIONS.update()
            .where(v.lesson_id == p.lesson_id, v.version_key == key)
            .values(score=p.report.total)
        )
    return out


def _refined(ev: Envelope, p: LessonRefined) -> list[Executable]:
    v = LESSON_VERSIONS.c
    if p.applied:
        status = "current"
    elif p.outcome is RefinementOutcome.ACCEPTED:
        status = "shadow" if p.shadow else "accepted"
    else:
        status = "failed" if p.outcome is RefinementOutcome.FAILED else "rejected"
    values: dict[str, Any] = {
        "version": p.version,
        "trigger": p.trigger.value,
        "status": status,
        "outcome": p.outcome.value,
        "reason": p.reason,
        "validation_failures": list(p.validation_failures),
        "original_score": p.original_score,
        "score": p.candidate_score,
        "applied": p.applied,
        "shadow": p.shadow,
        "decided_at": ev.occurred_at,
    }
    if p.candidate is not None:
        values["lesson"] = p.candidate
    out: list[Executable] = []
    if p.applied:
        # The version it replaces is superseded; without saveOriginal its content goes.
        superseded: dict[str, Any] = {"status": "superseded"}
        if not p.save_original:
            superseded["lesson"] = None
        out.append(
            LESSON_VERSIONS.update()
            .where(v.lesson_id == p.lesson_id, v.status == "current")
            .values(**superseded)
        )
    stmt = insert(LESSON_VERSIONS).values(
        lesson_id=p.lesson_id, version_key=str(p.refinement_id), created_at=ev.occurred_at, **values
    )
    out.append(stmt.on_conflict_do_update(index_elements=["lesson_id", "version_key"], set_=values))
    update: dict[str, Any] = {}
    if p.applied:
        update = {"current_version": p.version, "score": p.candidate_score}
    out.append(_lesson(p.lesson_id, p.usage, **update))
    return out


def _lesson(lesson_id: str, usage: GenerationUsage | None, **values: Any) -> Executable:
    """The lesson row's update: its fields, and the tokens and cost a usage adds."""
    c = LESSONS.c
    t = _tokens(usage)
    return (
        LESSONS.update()
        .where(c.lesson_id == lesson_id)
        .values(
            input_tokens=c.input_tokens + t["input_tokens"],
            output_tokens=c.output_tokens + t["output_tokens"],
            cost_usd=c.cost_usd + t["cost_usd"],
            **values,
        )
    )


# queries ----------------------------------------------------------------------------------
class LessonSummary(BaseModel):
    lesson_id: str
    pack: str
    unit: str
    topic: str
    section: str
    strategy: str
    must_have_topics: list[str]
    status: str
    title: str | None
    layout: str | None
    current_version: int
    score: float | None
    score_history: list[dict[str, Any]]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    failure: str | None
    requested_at: datetime
    completed_at: datetime | None


class PhaseView(BaseModel):
    phase: str
    number: int
    status: str
    strategy: str | None
    prompt_version: str | None
    duration_ms: int | None
    input_tokens: int
    output_tokens: int
    skipped_reason: str | None
    requested_at: datetime | None
    completed_at: datetime | None


class VersionView(BaseModel):
    version_key: str
    version: int | None
    trigger: str | None
    status: str
    outcome: str | None
    reason: str | None
    validation_failures: list[str]
    original_score: float | None
    score: float | None
    applied: bool
    shadow: bool
    created_at: datetime
    decided_at: datetime | None
    lesson: dict[str, Any] | None = None


class LessonView(LessonSummary):
    phases: list[PhaseView]
    versions: list[VersionView]
    lesson: dict[str, Any] | None  # the current version, blocks in contract order


def _row(model: type[BaseModel], row: Any, **extra: Any) -> Any:
    return model.model_validate({**row._mapping, **extra})


async def lessons_list(
    conn: AsyncConnection,
    *,
    limit: int = 50,
    offset: int = 0,
    status: str | None = None,
    pack: str | None = None,
) -> list[LessonSummary]:
    c = LESSONS.c
    stmt = select(LESSONS).order_by(c.requested_at.desc(), c.lesson_id).limit(limit).offset(offset)
    if status:
        stmt = stmt.where(c.status == status)
    if pack:
        stmt = stmt.where(c.pack == pack)
    return [_row(LessonSummary, r) for r in await conn.execute(stmt)]


async def phases_of(conn: AsyncConnection, lesson_id: str) -> list[PhaseView]:
    p = LESSON_PHASES.c
    rows = await conn.execute(
        select(LESSON_PHASES).where(p.lesson_id == lesson_id).order_by(p.number)
    )
    return [_row(PhaseView, r) for r in rows]


async def versions_of(
    conn: AsyncConnection, lesson_id: str, *, with_content: bool = False
) -> list[VersionView]:
    v = LESSON_VERSIONS.c
    rows = await conn.execute(
        select(LESSON_VERSIONS)
        .where(v.lesson_id == lesson_id)
        .order_by(v.created_at, v.version_key)
    )
    return [_row(VersionView, r, lesson=r.lesson if with_content else None) for r in rows]


async def phase_completed(conn: AsyncConnection, lesson_id: str, phase: str) -> bool:
    """Whether a phase of a lesson has its completion (or was skipped)."""
    p = LESSON_PHASES.c
    row = (
        await conn.execute(select(p.status).where(p.lesson_id == lesson_id, p.phase == phase))
    ).first()
    return row is not None and row.status in ("completed", "skipped")


async def refinement_of(
    conn: AsyncConnection, lesson_id: str, refinement_id: uuid.UUID
) -> VersionView | None:
    v = LESSON_VERSIONS.c
    row = (
        await conn.execute(
            select(LESSON_VERSIONS).where(
                v.lesson_id == lesson_id, v.version_key == str(refinement_id)
            )
        )
    ).first()
    return _row(VersionView, row) if row is not None else None


async def lesson_of(conn: AsyncConnection, lesson_id: str) -> LessonView | None:
    """A lesson with its phases, versions and current content (None when unknown)."""
    row = (await conn.execute(select(LESSONS).where(LESSONS.c.lesson_id == lesson_id))).first()
    if row is None:
        return None
    versions = await versions_of(conn, lesson_id, with_content=True)
    current = next((x.lesson for x in versions if x.status == "current"), None)
    if current is not None and isinstance(current.get("blocks"), list):
        current = {**current, "blocks": sorted(current["blocks"], key=lambda b: b.get("order", 0))}
    view: LessonView = _row(
        LessonView,
        row,
        phases=await phases_of(conn, lesson_id),
        versions=[x.model_copy(update={"lesson": None}) for x in versions],
        lesson=current,
    )
    return view
