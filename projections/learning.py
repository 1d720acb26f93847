"""Learning read models: attempts, diagnoses and per-concept standing of each learner."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

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
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Context, TopicNames
from events.learning import AnswerSubmitted, FailureDiagnosed
from projections.base import Applied
from projections.db import METADATA

__all__ = ["ATTEMPTS", "DIAGNOSES", "LEARNER_CONCEPTS", "LearningProjection"]

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
    Column("projected_at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
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


class LearningProjection:
    name = "learning"
    decodes = True
    tables = (ATTEMPTS, DIAGNOSES, LEARNER_CONCEPTS)
    volatile_columns = frozenset({"projected_at"})
    _types = frozenset({AnswerSubmitted.event_type, FailureDiagnosed.event_type})

    def topics(self, names: TopicNames) -> list[str]:
        return [names.domain(Context.LEARNING)]

    def wants(self, event_type: str | None) -> bool:
        return event_type in self._types

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        attempts: list[dict[str, object]] = []
        diagnoses: list[dict[str, object]] = []
        for item in batch:
            ev = item.envelope
            if isinstance(ev.payload, AnswerSubmitted):
                a = ev.payload
                attempts.append(
                    {
                        "event_id": ev.event_id,
                        "learner_id": a.learner_id,
                        "session_id": a.session_id,
                        "concept_id": a.concept_id,
                        "question_id": a.question_id,
                        "question_kind": a.question_kind.value,
                        "correct": a.correct,
                        "response_time_ms": a.response_time_ms,
                        "answer_given": a.answer_given,
                        "answered_at": ev.occurred_at,
                    }
                )
            elif isinstance(ev.payload, FailureDiagnosed):
                d = ev.payload
                diagnoses.append(
                    {
                        "event_id": ev.event_id,
                        "answer_event_id": d.answer_event_id,
                        "learner_id": d.learner_id,
                        "session_id": d.session_id,
                        "concept_id": d.concept_id,
                        "question_id": d.question_id,
                        "fail_mode": d.fail_mode.value,
                        "confidence": d.confidence,
                        "rationale": d.rationale,
                        "evidence": d.evidence.model_dump(mode="json"),
                        "diagnosed_at": ev.occurred_at,
                    }
                )
        standing: dict[tuple[str, object], dict[str, object]] = {}
        new_attempts = await _insert_new(conn, ATTEMPTS, attempts)
        for row in attempts:
            if row["event_id"] not in new_attempts:
                continue
            key = (str(row["learner_id"]), row["concept_id"])
            s = standing.setdefault(key, _blank_standing(key))
            s["attempts"] = int(s["attempts"]) + 1  # type: ignore[call-overload]
            if row["correct"]:
                s["correct"] = int(s["correct"]) + 1  # type: ignore[call-overload]
            else:
                s["misses"] = int(s["misses"]) + 1  # type: ignore[call-overload]
            s["last_answered_at"] = _later(s["last_answered_at"], row["answered_at"])
        new_diagnoses = await _insert_new(conn, DIAGNOSES, diagnoses)
        for row in diagnoses:
            if row["event_id"] in new_diagnoses:
                key = (str(row["learner_id"]), row["concept_id"])
                s = standing.setdefault(key, _blank_standing(key))
                s["last_fail_mode"] = row["fail_mode"]
        await _upsert_standing(conn, list(standing.values()))


def _blank_standing(key: tuple[str, object]) -> dict[str, object]:
    return {
        "learner_id": key[0],
        "concept_id": key[1],
        "attempts": 0,
        "correct": 0,
        "misses": 0,
        "last_answered_at": None,
        "last_fail_mode": None,
    }


def _later(a: object, b: object) -> object:
    if a is None:
        return b
    assert isinstance(a, datetime) and isinstance(b, datetime)
    return max(a, b)


async def _insert_new(conn: AsyncConnection, table: Table, rows: list[dict[str, object]]) -> set[object]:
    """Insert rows whose event_id is new; return those ids.

    Duplicates (the same event published twice) are dropped, in the batch and
    against the table; ``rows`` is reduced to the first of each id in place.
    """
    seen: set[object] = set()
    rows[:] = [r for r in rows if not (r["event_id"] in seen or seen.add(r["event_id"]))]
    if not rows:
        return set()
    stmt = insert(table).on_conflict_do_nothing().returning(table.c.event_id)
    result = await conn.execute(stmt, rows)
    return {r[0] for r in result.all()}


async def _upsert_standing(conn: AsyncConnection, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    c = LEARNER_CONCEPTS.c
    stmt = insert(LEARNER_CONCEPTS)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.learner_id, c.concept_id],
        set_={
            "attempts": c.attempts + stmt.excluded.attempts,
            "correct": c.correct + stmt.excluded.correct,
            "misses": c.misses + stmt.excluded.misses,
            "last_answered_at": func.greatest(c.last_answered_at, stmt.excluded.last_answered_at),
            "last_fail_mode": func.coalesce(stmt.excluded.last_fail_mode, c.last_fail_mode),
        },
    )
    await conn.execute(stmt, rows)
