"""The remediation router's pure decisions."""

from __future__ import annotations

import uuid

import pytest

from events import Envelope, derive_id
from events.content import (
    AtomGenerationRequested,
    AtomsGenerated,
    AtomType,
    ContentType,
    GenerationTrigger,
)
from events.learning import (
    DiagnosisEvidence,
    FailMode,
    FailureDiagnosed,
    QuestionKind,
    RemediationPlanned,
)
from services.remediation.planning import (
    after_generation,
    for_diagnosis,
    matching_atoms,
    plan_event,
)
from services.remediation.rules import AtomTask, make_atoms
from tests.support.content import EIGRP, OSPF, RIP

pytestmark = pytest.mark.unit


def diagnosis(mode: FailMode) -> Envelope:
    return Envelope.new(
        FailureDiagnosed(
            learner_id="ada",
            session_id="s1",
            concept_id=OSPF.concept_id,
            question_id="q7",
            answer_event_id=uuid.uuid4(),
            fail_mode=mode,
            confidence=0.8,
            rationale="test",
            evidence=DiagnosisEvidence(
                rule="test",
                response_time_ms=4000,
                question_kind=QuestionKind.RECALL,
                concept_attempts=1,
                concept_misses=1,
                concept_prior_correct=0,
                session_answers=1,
                session_minutes=1.0,
            ),
        ),
        source="diagnoser",
    )


def atoms(*types: AtomType, count: int = 3) -> list:  # type: ignore[type-arg]
    return make_atoms(AtomTask(OSPF, (EIGRP, RIP), ContentType.PRACTICE, types, count))


def test_enough_suitable_atoms_plan_at_once() -> None:
    event = diagnosis(FailMode.RETRIEVAL_ERROR)
    existing = atoms(AtomType.FLASHCARD, AtomType.MCQ, AtomType.CLOZE, count=4)
    plan = for_diagnosis(event, existing, enable_jit=True)
    assert isinstance(plan, RemediationPlanned)
    assert (
        len(plan.atoms) == 4
        and not plan.jit_requested
        and plan.diagnosis_event_id == event.event_id
    )
    out = plan_event(event, plan, source="remediation")
    assert out.event_id == derive_id(event.event_id, "remediation-plan")
    assert out.causation_id == event.event_id


def test_unsuitable_atoms_do_not_count() -> None:
    # Two true/false atoms do not help an encoding error (flashcard, cloze, mcq).
    event = diagnosis(FailMode.ENCODING_ERROR)
    existing = atoms(AtomType.TRUE_FALSE, count=2) + atoms(AtomType.CLOZE, count=1)
    assert [a.atom_type for a in matching_atoms(existing, FailMode.ENCODING_ERROR)] == [
        AtomType.CLOZE
    ]
    request = for_diagnosis(event, existing, enable_jit=True)
    assert isinstance(request, AtomGenerationRequested)
    assert request.trigger is GenerationTrigger.FAILED_QUESTION and request.atom_count == 4
    assert request.content_types == [ContentType.EXPLANATION, ContentType.PRACTICE]
    assert request.remediation is not None and len(request.remediation.existing) == 1
    assert request.remediation.diagnosis_event_id == event.event_id


def test_the_plan_after_generation_combines_existing_and_new_with_the_same_plan_id() -> None:
    event = diagnosis(FailMode.DISCRIMINATION_ERROR)
    existing = atoms(AtomType.TRUE_FALSE, count=1)
    request = for_diagnosis(event, existing, enable_jit=True)
    assert isinstance(request, AtomGenerationRequested)
    new = atoms(AtomType.COMPARE, AtomType.MCQ, count=4)
    result = event.derive(
        AtomsGenerated(
            request_event_id=event.event_id,
            concept_id=OSPF.concept_id,
            trigger=request.trigger,
            content_types=request.content_types,
            atoms=new,
            generation_time_ms=12,
            remediation=request.remediation,
        ),
        role="atoms-generated",
        source="jit",
    )
    out = after_generation(result, source="remediation")
    assert out is not None and out.event_id == derive_id(event.event_id, "remediation-plan")
    plan = out.payload_as(RemediationPlanned)
    assert [a.source for a in plan.atoms] == ["existing"] + ["jit"] * 4
    assert plan.jit_requested and plan.jit_generated == 4 and plan.question_id == "q7"


def test_fatigue_plans_a_break_and_executive_practice_only() -> None:
    plan = for_diagnosis(
        diagnosis(FailMode.FATIGUE_ERROR), atoms(AtomType.FLASHCARD), enable_jit=True
    )
    assert isinstance(plan, RemediationPlanned)
    assert plan.suggest_break and plan.atoms == [] and "break" in plan.note

    plan = for_diagnosis(diagnosis(FailMode.EXECUTIVE_ERROR), [], enable_jit=True)
    assert isinstance(plan, RemediationPlanned)  # no atoms at all, and still no generation
    assert plan.practice_only and plan.atoms == [] and not plan.jit_requested


def test_with_jit_disabled_the_plan_holds_what_exists() -> None:
    plan = for_diagnosis(
        diagnosis(FailMode.RETRIEVAL_ERROR), atoms(AtomType.FLASHCARD, count=1), enable_jit=False
    )
    assert isinstance(plan, RemediationPlanned)
    assert len(plan.atoms) == 1 and "disabled" in plan.note


def test_other_triggers_make_no_plan() -> None:
    request = Envelope.new(
        AtomGenerationRequested(concept_id=OSPF.concept_id, trigger=GenerationTrigger.USER_REQUEST),
        source="api",
    )
    result = request.derive(
        AtomsGenerated(
            request_event_id=request.event_id,
            concept_id=OSPF.concept_id,
            trigger=GenerationTrigger.USER_REQUEST,
            content_types=[ContentType.PRACTICE],
            generation_time_ms=1,
        ),
        role="atoms-generated",
        source="jit",
    )
    assert after_generation(result, source="r") is None
