"""The lesson read models' writes, read without a database: the statements each event makes."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from events import CATALOG, Envelope, TopicNames
from events.lessons import LessonRefined, RefinementOutcome
from projections.lessons import (
    LESSON_APPLIED,
    LESSON_PHASES,
    LESSON_VERSIONS,
    LESSONS,
    LessonsProjection,
    statements_for,
)
from services.generation import Gateway
from services.lessons.local import LocalPipeline
from services.lessons.settings import LessonSettings
from services.lessons.simulated import SimulatedLessonProvider
from tests.support.lessons import brief

pytestmark = pytest.mark.unit

PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def sql(stmt: Any) -> tuple[str, dict[str, Any]]:
    compiled = stmt.compile(dialect=PG)
    return str(compiled), dict(compiled.params)


def _better(lesson: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(lesson)
    for b in out["blocks"]:
        for q in b["content"].get("questions", []):
            if q["answerType"] == "short-text" and len(q["expectedAnswer"]) == 1:
                q["expectedAnswer"].append(q["expectedAnswer"][0].lower() + " (accepted)")
    return out


def _run(**refinement: Any) -> list[Envelope]:
    provider = SimulatedLessonProvider(rewrites="damaged", damage=_better)
    settings = LessonSettings(refinement={"scoreThreshold": 100, **refinement})
    pipeline = LocalPipeline(Gateway([provider]), settings=settings)
    asyncio.run(pipeline.generate(brief("cg2365", "final-circuits", strategy="llm")))
    return pipeline.log.events


def test_the_projection_contract() -> None:
    p = LessonsProjection()
    assert p.name == "lessons" and p.partition_local and p.decodes
    assert p.tables == (LESSONS, LESSON_PHASES, LESSON_VERSIONS, LESSON_APPLIED)
    assert p.topics(TopicNames("nls")) == ["nls.lessons"]
    lessons = {s.event_type for s in CATALOG if s.context and s.context.value == "lessons"}
    # Requests to the agents carry nothing a reader needs beyond what their answers say.
    assert {t for t in lessons if not p.wants(t)} == {
        "lesson-scoring-requested",
        "lesson-improve-requested",
    }
    assert not p.wants("answer-submitted") and not p.wants(None)


def test_each_event_writes_what_it_says() -> None:
    events = _run()
    writes: dict[str, list[list[tuple[str, dict[str, Any]]]]] = {}
    for e in events:
        writes.setdefault(e.event_type, []).append([sql(s) for s in statements_for(e)])
    ((text, params),) = writes["lesson-requested"][0]
    assert "INSERT INTO lessons" in text and "ON CONFLICT DO NOTHING" in text
    assert params["status"] == "generating" and params["pack"] == "cg2365"
    ((text, params),) = writes["lesson-phase-requested"][0]
    assert "INSERT INTO lesson_phases" in text and params["status"] == "requested"
    phase_upsert, lesson_tokens = writes["lesson-phase-completed"][0]
    assert "ON CONFLICT (lesson_id, phase) DO UPDATE" in phase_upsert[0]
    assert phase_upsert[1]["prompt_version"] == "lesson-planning@v1"
    assert "input_tokens=(lessons.input_tokens +" in lesson_tokens[0]
    assembled = next(w for w in writes["lesson-phase-completed"] if len(w) == 3)
    assert "INSERT INTO lesson_versions" in assembled[1][0]
    assert assembled[1][1]["version_key"] == "original" and assembled[1][1]["status"] == "current"
    scored = writes["lesson-scored"][0]
    assert "score_history=(lessons.score_history ||" in scored[0][0]
    superseded, version, row = writes["lesson-refined"][0]
    assert "UPDATE lessons" in row[0] and row[1]["current_version"] == 2
    assert "UPDATE lesson_versions" in superseded[0] and superseded[1]["status_1"] == "current"
    assert "lesson" not in superseded[1]  # saveOriginal keeps the original's content
    assert version[1]["status"] == "current" and version[1]["version"] == 2
    ((text, params),) = writes["lesson-completed"][0]
    assert params["status"] == "completed" and params["current_version"] == 2


def test_without_save_original_the_superseded_content_goes() -> None:
    events = _run(saveOriginal=False)
    (refined,) = [e for e in events if isinstance(e.payload, LessonRefined)]
    assert refined.payload_as(LessonRefined).outcome is RefinementOutcome.ACCEPTED
    text, params = sql(statements_for(refined)[0])
    assert "SET status=" in text and params["lesson"] is None


def test_writes_depend_on_the_event_alone() -> None:
    for e in _run():
        first = [sql(s) for s in statements_for(e)]
        assert first == [sql(s) for s in statements_for(e)]
