"""Each NCDE rule, its evidence, and the order in which the rules are tried."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.learning import AnswerSubmitted, FailMode, QuestionKind
from services.diagnosis.rules import LearnerHistory, Thresholds, decide, evolve

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
CONCEPT = uuid.uuid4()
SIBLING = uuid.uuid4()


def answer(correct: bool = False, rt: int = 6000, **kw: Any) -> AnswerSubmitted:
    values: dict[str, Any] = {
        "learner_id": "ada",
        "session_id": "s1",
        "concept_id": CONCEPT,
        "question_id": "q1",
        "correct": correct,
        "response_time_ms": rt,
        "answer_given": "x",
    }
    values.update(kw)
    return AnswerSubmitted(**values)


def play(history: LearnerHistory, answers: list[tuple[AnswerSubmitted, datetime]]) -> None:
    for a, at in answers:
        evolve(history, a, at)


def diagnose(history: LearnerHistory, a: AnswerSubmitted, at: datetime = T0) -> Any:
    d = decide(history, a, at, uuid.uuid4())
    assert d is not None
    return d


def test_right_answers_are_not_diagnosed() -> None:
    assert decide(LearnerHistory(), answer(correct=True), T0, uuid.uuid4()) is None


def test_first_miss_is_encoding() -> None:
    d = diagnose(LearnerHistory(), answer())
    assert d.fail_mode is FailMode.ENCODING_ERROR
    assert d.evidence.rule == "encoding.first_miss"
    assert d.evidence.concept_misses == 1 and d.evidence.concept_prior_correct == 0


def test_repeated_misses_never_right_is_encoding_with_more_confidence() -> None:
    h = LearnerHistory()
    play(h, [(answer(), T0), (answer(), T0 + timedelta(minutes=1))])
    d = diagnose(h, answer(), T0 + timedelta(minutes=2))
    assert d.fail_mode is FailMode.ENCODING_ERROR
    assert d.evidence.rule == "encoding.repeated_misses"
    assert d.evidence.concept_misses == 3
    assert d.confidence > diagnose(LearnerHistory(), answer()).confidence


def test_known_before_is_retrieval() -> None:
    h = LearnerHistory()
    play(h, [(answer(correct=True), T0)])
    d = diagnose(h, answer(), T0 + timedelta(minutes=5))
    assert d.fail_mode is FailMode.RETRIEVAL_ERROR
    assert d.evidence.concept_prior_correct == 1
    slow = diagnose(h, answer(rt=20_000), T0 + timedelta(minutes=5))
    assert slow.fail_mode is FailMode.RETRIEVAL_ERROR and slow.confidence > d.confidence


def test_very_fast_wrong_answer_is_executive() -> None:
    d = diagnose(LearnerHistory(), answer(rt=900))
    assert d.fail_mode is FailMode.EXECUTIVE_ERROR
    assert d.evidence.rule == "executive.too_fast" and d.evidence.response_time_ms == 900


def test_sibling_concept_answer_is_discrimination() -> None:
    d = diagnose(LearnerHistory(), answer(answer_concept_id=SIBLING))
    assert d.fail_mode is FailMode.DISCRIMINATION_ERROR
    assert d.evidence.confused_with_concept_id == SIBLING
    # The concept's own answer is no confusion.
    own = diagnose(LearnerHistory(), answer(answer_concept_id=CONCEPT))
    assert own.fail_mode is FailMode.ENCODING_ERROR


@pytest.mark.parametrize(
    "kind", [QuestionKind.APPLICATION, QuestionKind.PROCEDURE, QuestionKind.CALCULATION]
)
def test_integrative_question_on_known_facts_is_integration(kind: QuestionKind) -> None:
    h = LearnerHistory()
    play(h, [(answer(correct=True), T0)])
    d = diagnose(h, answer(question_kind=kind), T0 + timedelta(minutes=1))
    assert d.fail_mode is FailMode.INTEGRATION_ERROR
    # Without the facts known first, it is still a gap in encoding.
    assert (
        diagnose(LearnerHistory(), answer(question_kind=kind)).fail_mode is FailMode.ENCODING_ERROR
    )


def test_long_session_is_fatigue() -> None:
    h = LearnerHistory()
    play(h, [(answer(correct=True), T0)])
    d = diagnose(h, answer(), T0 + timedelta(minutes=50))
    assert d.fail_mode is FailMode.FATIGUE_ERROR
    assert d.evidence.rule == "fatigue.long_session" and d.evidence.session_minutes == 50


def test_many_answers_in_a_session_is_fatigue() -> None:
    h = LearnerHistory()
    play(
        h,
        [
            (answer(correct=True, concept_id=uuid.uuid4()), T0 + timedelta(seconds=i))
            for i in range(79)
        ],
    )
    d = diagnose(h, answer(), T0 + timedelta(minutes=10))
    assert d.fail_mode is FailMode.FATIGUE_ERROR and d.evidence.rule == "fatigue.many_answers"
    assert d.evidence.session_answers == 80


def test_rising_response_times_with_falling_accuracy_is_fatigue() -> None:
    h = LearnerHistory()
    at = T0
    for i in range(12):
        fast_and_right = i < 6
        play(
            h,
            [
                (
                    answer(
                        correct=fast_and_right,
                        rt=3000 if fast_and_right else 9000,
                        concept_id=uuid.uuid4(),
                    ),
                    at,
                )
            ],
        )
        at += timedelta(seconds=30)
    d = diagnose(h, answer(rt=9000), at)
    assert d.fail_mode is FailMode.FATIGUE_ERROR and d.evidence.rule == "fatigue.slowing_down"
    assert d.evidence.response_time_trend == pytest.approx(3.0)
    assert d.evidence.session_recent_accuracy == 0.0


def test_slowing_down_with_good_accuracy_is_not_fatigue() -> None:
    h = LearnerHistory()
    at = T0
    for i in range(12):
        play(h, [(answer(correct=True, rt=3000 if i < 6 else 9000, concept_id=uuid.uuid4()), at)])
        at += timedelta(seconds=30)
    assert diagnose(h, answer(rt=9000), at).fail_mode is not FailMode.FATIGUE_ERROR


def test_rules_are_tried_in_order() -> None:
    """Fatigue beats impulsivity beats confusion beats the concept history."""
    h = LearnerHistory()
    play(h, [(answer(correct=True), T0)])
    late = T0 + timedelta(minutes=60)
    assert (
        diagnose(h, answer(rt=500, answer_concept_id=SIBLING), late).fail_mode
        is FailMode.FATIGUE_ERROR
    )
    soon = T0 + timedelta(minutes=1)
    assert (
        diagnose(h, answer(rt=500, answer_concept_id=SIBLING), soon).fail_mode
        is FailMode.EXECUTIVE_ERROR
    )
    assert (
        diagnose(
            h, answer(answer_concept_id=SIBLING, question_kind=QuestionKind.APPLICATION), soon
        ).fail_mode
        is FailMode.DISCRIMINATION_ERROR
    )


def test_thresholds_are_configurable() -> None:
    strict = Thresholds(executive_max_response_ms=100)
    d = decide(LearnerHistory(), answer(rt=900), T0, uuid.uuid4(), strict)
    assert d is not None and d.fail_mode is FailMode.ENCODING_ERROR


def test_sessions_are_bounded_per_learner() -> None:
    h = LearnerHistory()
    for i in range(10):
        evolve(h, answer(session_id=f"s{i}"), T0 + timedelta(hours=i))
    assert len(h.sessions) == 4 and list(h.sessions) == ["s6", "s7", "s8", "s9"]


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 60_000), st.integers(0, 3), st.integers(0, 120)),
        min_size=1,
        max_size=40,
    )
)
def test_every_wrong_answer_gets_a_consistent_diagnosis(
    steps: list[tuple[bool, int, int, int]],
) -> None:
    concepts = [uuid.UUID(int=i + 1) for i in range(4)]
    h = LearnerHistory()
    at = T0
    for correct, rt, c, gap in steps:
        at += timedelta(seconds=gap)
        a = answer(correct=correct, rt=rt, concept_id=concepts[c])
        before = h.concepts.get(a.concept_id)
        d = decide(h, a, at, uuid.uuid4())
        if correct:
            assert d is None
        else:
            assert d is not None and 0 <= d.confidence <= 1
            assert d.evidence.concept_misses == (before.misses if before else 0) + 1
            assert d.evidence.concept_prior_correct == (before.correct if before else 0)
        evolve(h, a, at)
