"""The course read models' writes, read without a database (the statements each event
makes), the answers the API gives from them, and the CLI's live view."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy.dialects import postgresql

from events import CATALOG, TopicNames
from events.courses import CourseNeedsAttention, CourseSelected
from projections.courses import (
    COURSE_CANDIDATES,
    COURSE_EVENTS,
    COURSES,
    CandidateView,
    CoursesProjection,
    CourseView,
    JobSummaryView,
    answer_of,
    statements_for,
)
from services.courses.cli import course_table, outcome_lines, progress_table
from tests.support.courses import T0, course_request, run_course

pytestmark = pytest.mark.unit

PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def sql(stmt: Any) -> tuple[str, dict[str, Any]]:
    compiled = stmt.compile(dialect=PG)
    return str(compiled), dict(compiled.params)


def test_the_projection_contract() -> None:
    p = CoursesProjection()
    assert p.name == "courses" and p.partition_local and p.decodes
    assert p.tables == (COURSES, COURSE_CANDIDATES, COURSE_EVENTS)
    assert p.topics(TopicNames("nls")) == ["nls.courses"]
    courses_types = {s.event_type for s in CATALOG if s.context and s.context.value == "courses"}
    assert {t for t in courses_types if p.wants(t)} == courses_types
    assert not p.wants("answer-submitted") and not p.wants(None)


async def test_each_event_of_a_course_writes_what_it_says() -> None:
    run = await run_course(course_request(subject="math", grade=3, candidate_count=3))
    writes = {e.event_type: [sql(s) for s in statements_for(e)] for e in run.events}
    ((text, params),) = writes["course-requested"]
    assert "INSERT INTO courses" in text and "ON CONFLICT DO NOTHING" in text
    assert params["status"] == "GENERATING" and params["modes"] == ["options", "numeric"]
    text, params = writes["course-candidate-requested"][0]
    assert "INSERT INTO course_candidates" in text and params["status"] == "REQUESTED"
    text, params = writes["course-candidate-generated"][0]
    assert "ON CONFLICT (course_id, candidate_index, attempt) DO UPDATE" in text
    assert "WHERE course_candidates.status = " in text and params["status"] == "GENERATED"
    text, params = writes["candidate-scored"][0]
    assert params["status"] == "SCORED" and params["score"] >= 0.6
    assert set(params["breakdown"]) == {
        "schema_validity",
        "placeholders",
        "mode_constraints",
        "consistency",
        "self_review",
    }
    selected = run.outcome.payload_as(CourseSelected)
    finish = writes["course-selected"]
    assert finish[0][1]["status"] == "SELECTED"
    assert finish[0][1]["selected_index"] == selected.selected_index
    assert finish[0][1]["method"] == "candidates"
    similarities = [p for _, p in finish if "similarity" in p]
    assert len(similarities) == 3  # one per candidate: its highest cosine
    assert finish[-1][1]["status"] == "SELECTED"  # the chosen candidate row


async def test_needs_attention_keeps_the_seeds_body() -> None:
    run = await run_course(
        # CCNA facts read above grade 3: every score is a little below 1.0
        course_request(subject="ccna", grade=3, candidate_count=2),
        min_viable_score=1.0,
    )
    attention = run.outcome.payload_as(CourseNeedsAttention)
    _, params = sql(statements_for(run.outcome)[0])
    assert params["status"] == "NEEDS_ATTENTION"
    assert params["details"] == attention.body()
    assert params["details"]["details"]["minViableScore"] == 1.0


async def test_a_failed_course_says_why() -> None:
    run = await run_course(course_request(subject="history", grade=3, candidate_count=2))
    _, params = sql(statements_for(run.outcome)[0])
    assert params["status"] == "FAILED" and params["error"] == "all_candidates_failed"
    _, failed = sql(statements_for(run.of_type("course-candidate-failed")[0])[0])
    assert failed["status"] == "FAILED" and failed["error"].startswith("generation no_source")


def view(status: str, **kw: Any) -> CourseView:
    values: dict[str, Any] = {
        "course_id": uuid.uuid4(),
        "subject": "math",
        "grade": 3,
        "topic": None,
        "groups": 1,
        "items_per_group": 2,
        "modes": ["numeric"],
        "strategy": "rules",
        "status": status,
        "summary": JobSummaryView(
            method="candidates",
            candidate_count=2,
            selected_index=0,
            selected_score=0.9,
            min_viable_score=0.4,
            total_tokens=1200,
            latency_ms=5000,
        ),
        "review_threshold": 0.6,
        "course": None,
        "valid": None,
        "issues": [],
        "error": None,
        "details": None,
        "warnings": [],
        "requested_at": T0,
        "finished_at": None,
    }
    values.update(kw)
    return CourseView(**values)


def candidate(index: int, status: str, **kw: Any) -> CandidateView:
    values: dict[str, Any] = {
        "candidate_index": index,
        "attempt": 0,
        "approach": "formal_academic",
        "temperature": 0.2 + index / 10,
        "seed": 7,
        "strategy": "rules",
        "status": status,
        "score": None,
        "breakdown": None,
        "self_review": None,
        "issues": [],
        "item_count": None,
        "valid": None,
        "similarity": None,
        "tokens": 0,
        "error": None,
        "course": None,
        "updated_at": datetime(2026, 1, 1),
    }
    values.update(kw)
    return CandidateView(**values)


def test_answers_for_each_status() -> None:
    body = {"error": "candidate_scores_too_low", "code": "needs_attention", "details": {}}
    assert answer_of(view("NEEDS_ATTENTION", details=body)) == (422, body)
    failed = {"error": "all_candidates_failed", "code": "failed", "details": {"failures": []}}
    assert answer_of(view("FAILED", details=failed)) == (502, failed)
    code, answer = answer_of(view("SELECTED", course={"title": "t", "groups": []}, valid=True))
    assert code == 200 and answer["course"] == {"title": "t", "groups": []}
    assert answer_of(view("GENERATING"))[0] == 202


def render(thing: Any) -> str:
    console = Console(record=True, width=160)
    console.print(thing)
    return console.export_text()


def test_the_live_view_counts_generated_reviewed_and_scored() -> None:
    found = [
        candidate(0, "SCORED", score=0.91, self_review={"clarity": 1}),
        candidate(1, "GENERATED"),
        candidate(2, "FAILED", error="generation timeout: no candidate within 120s"),
        candidate(3, "REQUESTED"),
    ]
    text = render(
        progress_table(
            view("GENERATING", summary=view("x").summary.model_copy(update={"candidate_count": 4})),
            found,
        )
    )
    assert "GENERATING: 2/4 generated, 1/4 reviewed, 1/4 scored" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("│ 2"))
    assert " x " in row and "FAILED" in row


def test_a_finished_course_prints_as_the_seed_reports_it() -> None:
    selected = view(
        "SELECTED",
        course={
            "title": "Grade 3 math",
            "groups": [
                {
                    "title": "Times tables",
                    "items": [
                        {"text": "6 x 7 = [blank]", "mode": "numeric", "answer": "42"},
                        {
                            "text": "8 x 3 = _",
                            "mode": "options",
                            "options": ["24", "21", "11"],
                            "correct_index": 0,
                        },
                    ],
                }
            ],
        },
        warnings=["Candidates too similar: 0 and 1 (cosine 0.93)"],
    )
    lines = outcome_lines(selected)
    assert lines[0].startswith("selected candidate 0 with score 0.90 (candidates, 2 candidate(s)")
    assert lines[1] == "warning: Candidates too similar: 0 and 1 (cosine 0.93)"
    table = render(course_table(selected))
    assert "g1.i2" in table and "24 / 21 / 11" in table and "42" in table
    attention = view(
        "NEEDS_ATTENTION",
        details={"error": "candidate_scores_too_low", "code": "needs_attention", "details": {}},
    )
    assert '"error": "candidate_scores_too_low"' in outcome_lines(attention)[0]
