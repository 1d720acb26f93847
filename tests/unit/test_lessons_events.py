"""The lessons events: every type round-trips through the codec, and each refuses what
its contract forbids."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from events import CATALOG, Envelope, decode, encode
from events.lessons import (
    LessonPhase,
    LessonPhaseRequested,
    LessonRefined,
    LessonRequested,
    LessonScored,
    RefinementOutcome,
    RefinementTrigger,
    ScoreReport,
    ScoringPurpose,
)
from tests.support.lessons import EVENT_STRATEGIES, brief

pytestmark = pytest.mark.unit

LESSON_TYPES = sorted(
    s.event_type for s in CATALOG if s.context is not None and s.context.value == "lessons"
)


def test_every_lessons_event_type_has_a_strategy() -> None:
    # lesson-phase-completed's strategy lives with the catalog's own (tests/support/strategies).
    assert set(LESSON_TYPES) - set(EVENT_STRATEGIES) == {"lesson-phase-completed"}


@pytest.mark.parametrize("event_type", sorted(EVENT_STRATEGIES))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(event_type: str, data: st.DataObject) -> None:
    payload = data.draw(EVENT_STRATEGIES[event_type])
    env = Envelope.new(payload, source="test")
    assert decode(encode(env).value) == env
    assert env.key == payload.lesson_id


def test_a_request_carries_material_from_its_own_pack() -> None:
    request = brief("ccna", "ospf")
    with pytest.raises(ValidationError, match="material must come from the requested pack"):
        LessonRequested.model_validate({**request.model_dump(), "pack": "cg2365"})
    with pytest.raises(ValidationError):
        LessonRequested.model_validate({**request.model_dump(), "lesson_id": "has space"})


def test_phase_10_is_not_asked_for_as_a_phase() -> None:
    request = brief("ccna", "ospf")
    with pytest.raises(ValidationError, match="lesson-rewrite-requested"):
        LessonPhaseRequested(
            lesson_id=request.lesson_id,
            phase=LessonPhase.REWRITE,
            strategy="rules",
            brief=request,
        )
    with pytest.raises(ValidationError, match="keyed by phase"):
        LessonPhaseRequested(
            lesson_id=request.lesson_id,
            phase=LessonPhase.VOCABULARY,
            strategy="rules",
            brief=request,
            inputs={"plan": {"x": 1}},
        )


def test_a_score_carries_its_report_or_its_error_and_a_verdict_says_why() -> None:
    with pytest.raises(ValidationError, match="either its report or its error"):
        LessonScored(lesson_id="L", purpose=ScoringPurpose.ORIGINAL)
    with pytest.raises(ValidationError, match="scores 0"):
        ScoreReport(total=50, grade="x", structural_errors=["blocks: no practice block"])
    base = {
        "lesson_id": "L",
        "refinement_id": uuid.uuid4(),
        "trigger": RefinementTrigger.AUTO,
        "reason": "why",
    }
    with pytest.raises(ValidationError, match="lists its failures"):
        LessonRefined(outcome=RefinementOutcome.REJECTED_VALIDATION, **base)
    with pytest.raises(ValidationError, match="only an accepted candidate"):
        LessonRefined(outcome=RefinementOutcome.REJECTED_SCORE, applied=True, **base)
    with pytest.raises(ValidationError, match="shadow mode never applies"):
        LessonRefined(
            outcome=RefinementOutcome.ACCEPTED,
            applied=True,
            shadow=True,
            candidate={"id": "L"},
            version=2,
            **base,
        )
