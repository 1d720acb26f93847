"""The fan-in saga, pure: decide and evolve over its events, the deadline, duplicates,
and the seed's log lines; selection and similarity on their own."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from events import Envelope
from events.courses import (
    CandidateScored,
    CourseCandidateFailed,
    CourseCandidateRequested,
    CourseFailed,
    CourseNeedsAttention,
    CourseRequested,
    CourseSelected,
    PedagogicalApproach,
    ScoreBreakdown,
)
from events.sagas import SagaDeadlineReached
from services.bus.consumer import Delivery
from services.bus.memory import InMemoryPublisher
from services.courses import logs
from services.courses.planning import announcement, plan_candidates
from services.courses.saga import CourseCandidatesSaga, CourseSagaState, finish
from services.courses.selection import judge, select, similarity
from services.runtime.saga import InMemorySagaStore, SagaHandler, deadline_event
from tests.support.courses import T0, draft, settings
from tests.unit.test_courses_checks import numeric

pytestmark = pytest.mark.unit

SAGA = CourseCandidatesSaga()


def start(k: int = 3, *, single: bool = False, **kw: Any) -> tuple[Envelope, list[Envelope]]:
    path: dict[str, Any] = {"use_candidates": False} if single else {"candidate_count": k}
    request = Envelope.new(
        CourseRequested(course_id=uuid.uuid4(), subject="math", grade=3, **path),
        source="test",
        occurred_at=T0,
    )
    plans = plan_candidates(request.payload_as(CourseRequested), settings(**kw), requested_at=T0)
    asks = [
        request.derive(
            CourseCandidateRequested(course_id=request.payload.course_id, plan=p),  # type: ignore[attr-defined]
            role=f"candidate:{p.candidate_index}",
            source="test",
            occurred_at=T0,
        )
        for p in plans
    ]
    return request, asks


def scored(
    ask: Envelope, total: float, *, attempt: int = 0, final: bool = True, n: int = 1
) -> Envelope:
    plan = ask.payload_as(CourseCandidateRequested).plan
    # every part equal: the weighted total is that value
    b = ScoreBreakdown(
        schema_validity=total,
        placeholders=total,
        mode_constraints=total,
        consistency=total,
        self_review=total,
    )
    course = draft(numeric(f"{plan.candidate_index} + {n} = _", str(plan.candidate_index + n)))
    return ask.derive(
        CandidateScored(
            course_id=ask.payload.course_id,  # type: ignore[attr-defined]
            candidate_index=plan.candidate_index,
            candidate_count=plan.candidate_count,
            score=b.weighted_total(),
            breakdown=b,
            approach=plan.diversity.approach,
            temperature=plan.diversity.temperature,
            seed=plan.diversity.seed,
            item_count=1,
            course=course,
            valid=True,
            attempt=attempt,
            final=final,
            generation_tokens=100,
        ),
        role=f"scored:{attempt}",
        source="test",
        occurred_at=T0 + timedelta(seconds=30),
    )


def failed(ask: Envelope) -> Envelope:
    plan = ask.payload_as(CourseCandidateRequested).plan
    return ask.derive(
        CourseCandidateFailed(
            course_id=ask.payload.course_id,  # type: ignore[attr-defined]
            candidate_index=plan.candidate_index,
            candidate_count=plan.candidate_count,
            stage="generation",
            reason="malformed_json",
            error="the reply is not valid JSON",
            approach=plan.diversity.approach,
            temperature=plan.diversity.temperature,
            seed=plan.diversity.seed,
        ),
        role="failed",
        source="test",
        occurred_at=T0 + timedelta(seconds=20),
    )


def fold(events: list[Envelope]) -> tuple[CourseSagaState | None, list[Envelope]]:
    state: CourseSagaState | None = None
    out: list[Envelope] = []
    for e in events:
        out += SAGA.decide(state, e)
        state = SAGA.evolve(state, e)
    return state, out


def test_it_starts_on_the_first_request_with_k_thresholds_and_the_deadline() -> None:
    _, asks = start(3)
    state, out = fold(asks)
    assert out == [] and state is not None
    assert state.candidate_count == 3 and state.method == "candidates"
    assert state.min_viable_score == 0.40 and state.review_threshold == 0.60
    assert state.deadlines == {"candidates": T0 + timedelta(seconds=180)}


def test_k_scored_candidates_finish_the_course_once_with_the_argmax() -> None:
    _, asks = start(3)
    state, out = fold([*asks, scored(asks[0], 0.7), scored(asks[1], 0.9)])
    assert out == [] and state is not None and not state.finished
    state, out = fold([*asks, scored(asks[0], 0.7), scored(asks[1], 0.9), scored(asks[2], 0.8)])
    assert state is not None and state.finished and state.deadlines == {}
    [done] = out
    selected = done.payload_as(CourseSelected)
    assert selected.selected_index == 1 and selected.selected_score == pytest.approx(0.9)
    assert selected.summary.model_dump() == {
        "method": "candidates",
        "candidate_count": 3,
        "selected_index": 1,
        "selected_score": 0.9,
        "min_viable_score": 0.40,
        "total_tokens": 300,
        "latency_ms": 30_000,
    }
    # nothing more once finished, not even at the deadline
    late = deadline_event(SAGA, state, "candidates", T0 + timedelta(seconds=180))
    assert list(SAGA.decide(state, late)) == [] and SAGA.evolve(state, late) == state


def test_ties_go_to_the_lowest_index() -> None:
    assert select({2: 0.8, 0: 0.8, 1: 0.7}) == 0
    _, asks = start(3)
    _, out = fold([*asks, scored(asks[2], 0.8), scored(asks[1], 0.8), scored(asks[0], 0.5)])
    assert out[0].payload_as(CourseSelected).selected_index == 1


def test_a_redelivered_score_counts_once() -> None:
    _, asks = start(2)
    twice = scored(asks[0], 0.7)
    state, out = fold([*asks, twice, twice])
    assert out == [] and state is not None and state.reported == [0] and state.tokens == 100


def test_failed_candidates_count_in_and_k_minus_1_select() -> None:
    _, asks = start(3)
    _, out = fold([*asks, scored(asks[0], 0.8), failed(asks[1]), scored(asks[2], 0.75)])
    selected = out[0].payload_as(CourseSelected)
    assert selected.selected_index == 0
    assert selected.warnings == [
        "candidate 1 failed: generation malformed_json: the reply is not valid JSON"
    ]


def test_every_candidate_failed_fails_the_course() -> None:
    _, asks = start(2)
    _, out = fold([*asks, failed(asks[0]), failed(asks[1])])
    course = out[0].payload_as(CourseFailed)
    assert course.reason == "all_candidates_failed" and len(course.failures) == 2


def test_the_deadline_selects_from_what_came_in() -> None:
    _, asks = start(3)
    state, _ = fold([*asks, scored(asks[0], 0.8)])
    assert state is not None
    due = deadline_event(SAGA, state, "candidates", state.deadlines["candidates"])
    out = SAGA.decide(state, due)
    selected = out[0].payload_as(CourseSelected)
    assert selected.selected_index == 0
    assert "candidates [1, 2] did not report by the deadline" in selected.warnings
    assert selected.summary.latency_ms == 180_000


def test_nothing_by_the_deadline_fails_the_course() -> None:
    _, asks = start(2)
    state, _ = fold(asks)
    assert state is not None
    due = deadline_event(SAGA, state, "candidates", state.deadlines["candidates"])
    course = SAGA.decide(state, due)[0].payload_as(CourseFailed)
    assert course.reason == "no_candidate_by_deadline"


def test_the_best_attempt_of_a_candidate_is_kept() -> None:
    _, asks = start(single=True, quality_retry_limit=2)
    first = scored(asks[0], 0.9, attempt=0, final=False)
    worse = scored(asks[0], 0.7, attempt=1, final=True, n=2)
    _, out = fold([*asks, first, worse])
    selected = out[0].payload_as(CourseSelected)
    assert selected.attempt == 0 and selected.selected_score == pytest.approx(0.9)
    assert selected.summary.method == "single"


def test_scores_below_the_minimum_fail_fast_and_log_it() -> None:
    _, asks = start(3)
    state, _ = fold([*asks, scored(asks[0], 0.35), scored(asks[1], 0.38), scored(asks[2], 0.32)])
    assert state is not None
    payload, lines = finish(state, at=T0 + timedelta(seconds=30), deadline=False)
    assert isinstance(payload, CourseNeedsAttention)
    assert payload.body()["details"] == {
        "maxScore": 0.38,
        "minViableScore": 0.40,
        "candidateCount": 3,
        "scores": [0.35, 0.38, 0.32],
    }
    assert [line.event for line in lines] == [logs.COMPLETED, logs.SCORES, logs.BELOW_MINIMUM]
    assert lines[2].fields["max_score"] == 0.38 and lines[2].level == "warning"
    assert lines[0].fields["succeeded"] == 3 and lines[0].fields["avg_tokens"] == 100


def test_the_seeds_log_lines_on_selection() -> None:
    request, asks = start(3)
    line = announcement(request.payload_as(CourseRequested), [a.payload.plan for a in asks])  # type: ignore[attr-defined]
    assert line.event == logs.GENERATING
    assert {k: line.fields[k] for k in ("k", "subject", "grade")} == {
        "k": 3,
        "subject": "math",
        "grade": 3,
    }
    state, _ = fold([*asks, scored(asks[0], 0.8), scored(asks[1], 0.9), scored(asks[2], 0.7)])
    assert state is not None
    _, lines = finish(state, at=T0, deadline=False)
    assert [line.event for line in lines] == [logs.COMPLETED, logs.SCORES, logs.SELECTED]
    assert lines[1].fields["scores"] == [0.8, 0.9, 0.7]
    assert lines[2].fields["index"] == 1 and lines[2].fields["score"] == 0.9
    assert set(logs.SEED_LINES) == {
        "Generating candidates in parallel",
        "Candidate generation completed",
        "Candidate scores",
        "Candidates too similar",
        "Best candidate selected",
        "All candidates below minimum viable score",
    }


def test_the_final_gate_and_its_switch() -> None:
    assert judge(
        {0: 0.5}, min_viable_score=0.4, review_threshold=0.6, skip_review=False
    ).outcome == ("review_below_threshold")
    assert judge(
        {0: 0.5}, min_viable_score=0.4, review_threshold=0.6, skip_review=True
    ).outcome == ("selected")
    assert judge(
        {0: 0.3, 1: 0.39}, min_viable_score=0.4, review_threshold=0.6, skip_review=True
    ).outcome == ("candidate_scores_too_low")


def test_similarity_of_items() -> None:
    a = draft(numeric("Compute 7 + 5 = [blank]", "12"), numeric("Compute 9 - 4 = [blank]", "5"))
    b = draft(numeric("Compute 8 + 6 = [blank]", "14"), numeric("Compute 3 x 4 = [blank]", "12"))
    pairs = {(p.a, p.b): p.cosine for p in similarity({0: a, 1: a, 2: b})}
    assert pairs[(0, 1)] == 1.0
    assert pairs[(0, 2)] < 0.85


async def test_the_saga_handler_ignores_redelivery_and_stale_deadlines() -> None:
    _, asks = start(2)
    store = InMemorySagaStore(CourseSagaState)
    out = InMemoryPublisher()
    handler = SagaHandler(SAGA, store, out)
    events = [*asks, scored(asks[0], 0.8), scored(asks[1], 0.7)]
    for offset, e in enumerate(events):
        await handler.handle(e, Delivery("t", 0, offset, None, b"", ()))
    await handler.handle(events[-1], Delivery("t", 0, len(events) - 1, None, b"", ()))  # again
    assert len(out.of_type(CourseSelected.event_type)) == 1
    stale = SagaDeadlineReached(
        saga=SAGA.name,
        instance_id=events[0].key,
        deadline="candidates",
        due_at=T0 + timedelta(seconds=180),
    )
    late = Envelope.new(stale, source="timer", occurred_at=T0 + timedelta(seconds=180))
    await handler.handle(late, Delivery("t", 0, 99, None, b"", ()))
    assert len(out.events) == 1
    assert handler.due_deadlines(T0 + timedelta(days=1)) == []


def test_the_state_survives_its_json_round_trip() -> None:
    _, asks = start(3)
    state, _ = fold([*asks, scored(asks[0], 0.8), failed(asks[1])])
    assert state is not None
    assert CourseSagaState.model_validate_json(state.model_dump_json()) == state
    assert state.failures and state.best["0"].course.groups


def test_approaches_in_the_plans() -> None:
    _, asks = start(3)
    approaches = [a.payload.plan.diversity.approach for a in asks]  # type: ignore[attr-defined]
    assert approaches == list(PedagogicalApproach)
