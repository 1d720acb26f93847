"""Learning read models: attempts, diagnoses and per-concept standing of each learner."""

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
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Envelope
from events.learning import AnswerSubmitted, FailureDiagnosed
from projections.base import Applied, EventProjection
from projections.db import METADATA, conn_schema, driver
from services.settings import Latency

__all__ = [
    "ATTEMPTS",
    "DIAGNOSES",
    "LEARNER_CONCEPTS",
    "AttemptView",
    "ConceptStandingView",
    "DiagnosisView",
    "LearningProjection",
    "attempts_of",
    "diagnoses_of",
    "fail_mode_counts",
    "recent_learners",
    "standing_of",
]

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]

ATTEMPTS = Table(
    "attempts",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("learner_id", String(128), nullable=False),
    Column("session_id", String(128), nullable=False),
    Column("concept_id", Uuid, nullable=False),
    Column("question_id", String(128), nullable=False),
    Column("question_kind", String(32), nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("response_time_ms", Integer, nullable=False),
    Column("answer_given", Text, nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    Index("attempts_learner_idx", "learner_id", "answered_at"),
)

DIAGNOSES = Table(
    "diagnoses",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("answer_event_id", Uuid, nullable=False, unique=True),
    Column("learner_id", String(128), nullable=False),
    Column("session_id", String(128), nullable=False),
    Column("concept_id", Uuid, nullable=False),
    Column("question_id", String(128), nullable=False),
    Column("fail_mode", String(32), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("rationale", Text, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("diagnosed_at", DateTime(timezone=True), nullable=False),
    # When the row was written: lets the benchmark measure end-to-end latency.
    # Not derived from events, so checksums leave it out.
    Column(
        "projected_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=func.clock_timestamp(),
    ),
    Index("diagnoses_learner_idx", "learner_id", "diagnosed_at"),
)

LEARNER_CONCEPTS = Table(
    "learner_concepts",
    METADATA,
    Column("learner_id", String(128), primary_key=True),
    Column("concept_id", Uuid, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("correct", Integer, nullable=False),
    Column("misses", Integer, nullable=False),
    Column("last_answered_at", DateTime(timezone=True)),
    Column("last_fail_mode", String(32)),
)


class LearningProjection(EventProjection):
    name = "learning"
    tables = (ATTEMPTS, DIAGNOSES, LEARNER_CONCEPTS)
    consumes = (AnswerSubmitted, FailureDiagnosed)
    volatile_columns = frozenset({"projected_at"})
    latency = Latency.STREAM  # the diagnosis a learner's app shows
    # every row belongs to one learner, and learners are keys

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        """Insert new attempts and diagnoses, then fold the new ones into the standings.

        Writes are set-based (one ``INSERT ... SELECT FROM unnest(arrays)`` per
        table); an event id already present, in the table or earlier in the
        batch, is a duplicate and changes nothing.
        """
        attempts, diagnoses = _rows(item.envelope for item in batch)
        pg = await driver(conn)
        schema = conn_schema(conn)
        standing: Standing = {}
        if attempts:
            new = await _insert_new(pg, schema, ATTEMPTS, attempts)
            _count_attempts(standing, (r for r in attempts if r[0] in new))
        if diagnoses:
            new = await _insert_new(pg, schema, DIAGNOSES, diagnoses)
            _note_diagnoses(standing, (r for r in diagnoses if r[0] in new))
        if standing:
            await _upsert_standing(pg, schema, standing)

    def bulk(self) -> LearningBulk:
        return LearningBulk()


Standing = dict[tuple[str, uuid.UUID], list[Any]]  # attempts, correct, misses, last at, mode


class LearningBulk:
    """A rebuild's fold: attempts and diagnoses to COPY as the log goes by, the standings
    (kept here, in log order) at the end. Partitions are folded apart, and a learner's
    events are all on one partition, so duplicates and standings are this fold's alone."""

    def __init__(self) -> None:
        self.seen: set[uuid.UUID] = set()
        self.standing: Standing = {}

    def add(self, events: Iterable[Envelope]) -> dict[Table, list[tuple[Any, ...]]]:
        attempts, diagnoses = _rows(e for e in events if e.event_id not in self.seen)
        self.seen.update(r[0] for r in attempts)
        self.seen.update(r[0] for r in diagnoses)
        _count_attempts(self.standing, attempts)
        _note_diagnoses(self.standing, diagnoses)
        return {ATTEMPTS: attempts, DIAGNOSES: diagnoses}

    def finish(self) -> dict[Table, list[tuple[Any, ...]]]:
        rows = [(k[0], k[1], *v) for k, v in self.standing.items()]
        return {LEARNER_CONCEPTS: rows}


def _rows(events: Iterable[Envelope]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Attempt and diagnosis rows (the tables' leading columns), each event once."""
    attempts: list[tuple[Any, ...]] = []
    diagnoses: list[tuple[Any, ...]] = []
    seen: set[uuid.UUID] = set()
    for ev in events:
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        p = ev.payload
        if isinstance(p, AnswerSubmitted):
            attempts.append(
                (
                    ev.event_id,
                    p.learner_id,
                    p.session_id,
                    p.concept_id,
                    p.question_id,
                    p.question_kind.value,
                    p.correct,
                    p.response_time_ms,
                    p.answer_given,
                    ev.occurred_at,
                )
            )
        elif isinstance(p, FailureDiagnosed):
            diagnoses.append(
                (
                    ev.event_id,
                    p.answer_event_id,
                    p.learner_id,
                    p.session_id,
                    p.concept_id,
                    p.question_id,
                    p.fail_mode.value,
                    p.confidence,
                    p.rationale,
                    p.evidence.model_dump_json(),
                    ev.occurred_at,
                )
            )
    return attempts, diagnoses


def _count_attempts(standing: Standing, attempts: Iterable[tuple[Any, ...]]) -> None:
    for row in attempts:
        s = standing.setdefault((row[1], row[3]), [0, 0, 0, None, None])
        s[0] += 1
        s[1 if row[6] else 2] += 1
        s[3] = row[9] if s[3] is None else max(s[3], row[9])


def _note_diagnoses(standing: Standing, diagnoses: Iterable[tuple[Any, ...]]) -> None:
    for row in diagnoses:  # in log order: the last one is the standing's fail mode
        standing.setdefault((row[2], row[4]), [0, 0, 0, None, None])[4] = row[6]


async def _insert_new(
    pg: Any, schema: str, table: Table, rows: list[tuple[Any, ...]]
) -> set[uuid.UUID]:
    """Insert rows (the table's leading columns, in order) whose event_id is new; return
    those ids."""
    columns = list(table.columns)[: len(rows[0])]
    arrays = [list(col) for col in zip(*rows, strict=True)]
    unnest = ", ".join(f"${i + 1}::{c.type.compile(dialect=_PG)}[]" for i, c in enumerate(columns))
    sql = (
        f'INSERT INTO "{schema}"."{table.name}" ({", ".join(c.name for c in columns)}) '
        f"SELECT * FROM unnest({unnest}) ON CONFLICT DO NOTHING RETURNING event_id"
    )
    return {r[0] for r in await pg.fetch(sql, *arrays)}


async def _upsert_standing(
    pg: Any, schema: str, standing: dict[tuple[str, uuid.UUID], list[Any]]
) -> None:
    keys = list(standing)
    values = list(standing.values())
    await pg.execute(
        f'INSERT INTO "{schema}".learner_concepts AS t '
        "(learner_id, concept_id, attempts, correct, misses, last_answered_at, last_fail_mode) "
        "SELECT * FROM unnest($1::text[], $2::uuid[], $3::int4[], $4::int4[], $5::int4[], "
        "$6::timestamptz[], $7::text[]) "
        "ON CONFLICT (learner_id, concept_id) DO UPDATE SET "
        "attempts = t.attempts + excluded.attempts, "
        "correct = t.correct + excluded.correct, "
        "misses = t.misses + excluded.misses, "
        "last_answered_at = greatest(t.last_answered_at, excluded.last_answered_at), "
        "last_fail_mode = coalesce(excluded.last_fail_mode, t.last_fail_mode)",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [v[0] for v in values],
        [v[1] for v in values],
        [v[2] for v in values],
        [v[3] for v in values],
        [v[4] for v in values],
    )


# queries (the API and the CLI read through these) ----------------------------------
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


async def fail_mode_counts(conn: AsyncConnection) -> dict[str, int]:
    c = DIAGNOSES.c
    rows = await conn.execute(select(c.fail_mode, func.count()).group_by(c.fail_mode))
    return {mode: int(n) for mode, n in rows}


async def recent_learners(conn: AsyncConnection, limit: int = 30) -> list[dict[str, Any]]:
    a = ATTEMPTS.c
    rows = await conn.execute(
        select(
            a.learner_id,
            func.count().label("answers"),
            func.max(a.answered_at).label("last_answered_at"),
        )
        .group_by(a.learner_id)
        .order_by(func.max(a.answered_at).desc(), a.learner_id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]
