"""Learning context: what learners do, and what we conclude from it.

Keyed by learner, so one learner's answers and diagnoses stay in order.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal

from pydantic import Field

from events.catalog import event
from events.common import Identifier, Model
from events.envelope import Payload
from events.topics import Context

__all__ = [
    "PLAN_ROLE",
    "AnswerSubmitted",
    "DiagnosisEvidence",
    "FailMode",
    "FailureDiagnosed",
    "PlannedAtom",
    "QuestionKind",
    "RemediationPlanned",
]


class QuestionKind(StrEnum):
    """What a question asks of the learner.

    recall and recognition test single facts; application, procedure and
    calculation need several facts combined.
    """

    RECALL = "recall"
    RECOGNITION = "recognition"
    APPLICATION = "application"
    PROCEDURE = "procedure"
    CALCULATION = "calculation"

    @property
    def integrative(self) -> bool:
        return self in {QuestionKind.APPLICATION, QuestionKind.PROCEDURE, QuestionKind.CALCULATION}


class FailMode(StrEnum):
    """NCDE cognitive failure modes (jit-content-generation.md)."""

    ENCODING_ERROR = "encoding_error"
    RETRIEVAL_ERROR = "retrieval_error"
    DISCRIMINATION_ERROR = "discrimination_error"
    INTEGRATION_ERROR = "integration_error"
    EXECUTIVE_ERROR = "executive_error"
    FATIGUE_ERROR = "fatigue_error"


@event("answer-submitted", context=Context.LEARNING, key="learner_id")
class AnswerSubmitted(Payload):
    """A learner answered a question.

    Published by the learning app. ``answer_concept_id`` is set when the app
    knows which concept the given answer belongs to (for example an MCQ option
    drawn from a sibling concept).
    """

    learner_id: Identifier
    session_id: Identifier
    concept_id: uuid.UUID
    question_id: Identifier
    question_kind: QuestionKind = QuestionKind.RECALL
    correct: bool
    response_time_ms: int = Field(ge=0, le=3_600_000, description="time to answer, ms")
    answer_given: str = Field(max_length=4000, description="the learner's answer, verbatim")
    expected_answer: str | None = Field(default=None, max_length=4000)
    answer_concept_id: uuid.UUID | None = None


class DiagnosisEvidence(Model):
    """The observations a diagnosis was based on."""

    rule: str = Field(description="id of the rule that decided the fail mode")
    response_time_ms: int = Field(ge=0)
    question_kind: QuestionKind
    concept_attempts: int = Field(ge=1, description="answers on this concept, this one included")
    concept_misses: int = Field(
        ge=1, description="wrong answers on this concept, this one included"
    )
    concept_prior_correct: int = Field(ge=0, description="correct answers on this concept before")
    session_answers: int = Field(ge=1, description="answers in this session, this one included")
    session_minutes: float = Field(ge=0)
    session_recent_accuracy: float | None = Field(default=None, ge=0, le=1)
    response_time_trend: float | None = Field(
        default=None, description="mean response time of the last answers / of the first ones"
    )
    confused_with_concept_id: uuid.UUID | None = None


@event("failure-diagnosed", context=Context.LEARNING, key="learner_id")
class FailureDiagnosed(Payload):
    """A wrong answer was diagnosed with an NCDE fail mode.

    Emitted by the diagnoser for every wrong ``answer-submitted``; its id is
    derived from the answer's, so a redelivered answer yields the same event.
    """

    learner_id: Identifier
    session_id: Identifier
    concept_id: uuid.UUID
    question_id: Identifier
    answer_event_id: uuid.UUID
    fail_mode: FailMode
    confidence: float = Field(ge=0, le=1)
    rationale: str = Field(max_length=500)
    evidence: DiagnosisEvidence


class PlannedAtom(Model):
    atom_id: uuid.UUID
    atom_type: str = Field(max_length=32)
    source: Literal["existing", "jit"]
    front: str = Field(max_length=1000)


# A plan's event id derives from its diagnosis with this role (``derive_id``), whether
# the plan was made at once or completed by generation.
PLAN_ROLE = "remediation-plan"


@event("remediation-planned", context=Context.LEARNING, key="learner_id")
class RemediationPlanned(Payload):
    """What a learner gets after a diagnosed wrong answer: atoms matching the fail mode,
    existing ones first, then the ones generated just in time.

    fatigue_error gets no atoms and a break; executive_error gets practice only
    and no generation. The id derives from the diagnosis, so one diagnosis gives
    one plan however often it is delivered.
    """

    learner_id: Identifier
    session_id: Identifier
    concept_id: uuid.UUID
    question_id: Identifier
    answer_event_id: uuid.UUID
    diagnosis_event_id: uuid.UUID
    fail_mode: FailMode
    atoms: list[PlannedAtom] = Field(default_factory=list, max_length=20)
    jit_requested: bool = False
    jit_generated: int = Field(default=0, ge=0)
    from_cache: bool = False
    suggest_break: bool = False
    practice_only: bool = False
    note: str = Field(default="", max_length=500)
    errors: list[str] = Field(default_factory=list, max_length=20)
