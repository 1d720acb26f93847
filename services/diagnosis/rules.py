"""NCDE diagnosis of wrong answers: pure decision logic, no I/O.

``decide`` looks at a learner's history *before* the answer and returns a
diagnosis for a wrong one; ``evolve`` folds the answer into the history. The
rules, first match wins (thresholds in ``Thresholds``):

1. fatigue_error       the session is long (>= 45 min or >= 80 answers), or
                       response times rose (mean of the last 5 >= 1.5 x the first 5,
                       after >= 10 answers) while recent accuracy fell below 50 %
2. executive_error     answered faster than 2 s: an impulsive answer, not a gap
3. discrimination_error the answer given belongs to another (confusable) concept
4. integration_error   an application/procedure/calculation question on a concept
                       the learner has answered correctly before: facts known,
                       combining them failed
5. retrieval_error     the concept was answered correctly before: learned, not recalled
6. encoding_error      never answered correctly: not learned yet (confidence rises
                       with repeated misses)
"""

from __future__ import annotations

import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime

from events.learning import (
    AnswerSubmitted,
    DiagnosisEvidence,
    FailMode,
    FailureDiagnosed,
)

__all__ = [
    "ConceptRecord",
    "LearnerHistory",
    "SessionRecord",
    "Thresholds",
    "decide",
    "evolve",
]

_WINDOW = 5
_SESSIONS_KEPT = 4


@dataclass(frozen=True)
class Thresholds:
    fatigue_session_minutes: float = 45.0
    fatigue_session_answers: int = 80
    fatigue_rt_trend: float = 1.5
    fatigue_min_answers_for_trend: int = 10
    fatigue_recent_accuracy_below: float = 0.5
    executive_max_response_ms: int = 2000
    slow_recall_ms: int = 15_000


@dataclass
class ConceptRecord:
    attempts: int = 0
    misses: int = 0
    correct: int = 0


@dataclass
class SessionRecord:
    started_at: datetime
    answers: int = 0
    first_rts: list[int] = field(default_factory=list)
    last_rts: deque[int] = field(default_factory=lambda: deque(maxlen=_WINDOW))
    last_outcomes: deque[bool] = field(default_factory=lambda: deque(maxlen=_WINDOW))


@dataclass
class LearnerHistory:
    concepts: dict[uuid.UUID, ConceptRecord] = field(default_factory=dict)
    sessions: OrderedDict[str, SessionRecord] = field(default_factory=OrderedDict)


def _mean(values: list[int]) -> float:
    return sum(values) / len(values)


def evolve(history: LearnerHistory, answer: AnswerSubmitted, at: datetime) -> None:
    """Fold one answer into the learner's history (in place)."""
    rec = history.concepts.setdefault(answer.concept_id, ConceptRecord())
    rec.attempts += 1
    if answer.correct:
        rec.correct += 1
    else:
        rec.misses += 1
    session = history.sessions.get(answer.session_id)
    if session is None:
        session = history.sessions[answer.session_id] = SessionRecord(started_at=at)
        while len(history.sessions) > _SESSIONS_KEPT:
            history.sessions.popitem(last=False)
    session.answers += 1
    if len(session.first_rts) < _WINDOW:
        session.first_rts.append(answer.response_time_ms)
    session.last_rts.append(answer.response_time_ms)
    session.last_outcomes.append(answer.correct)


def decide(
    history: LearnerHistory,
    answer: AnswerSubmitted,
    at: datetime,
    answer_event_id: uuid.UUID,
    limits: Thresholds = Thresholds(),
) -> FailureDiagnosed | None:
    """The diagnosis of ``answer`` given the history before it; None for a right answer."""
    if answer.correct:
        return None
    rec = history.concepts.get(answer.concept_id, ConceptRecord())
    session = history.sessions.get(answer.session_id)
    session_answers = (session.answers if session else 0) + 1
    session_minutes = max(0.0, (at - session.started_at).total_seconds() / 60) if session else 0.0
    recent = [*(session.last_outcomes if session else ()), False][-_WINDOW:]
    recent_accuracy = sum(recent) / len(recent)
    trend: float | None = None
    if session and session_answers >= limits.fatigue_min_answers_for_trend:
        last = [*session.last_rts, answer.response_time_ms][-_WINDOW:]
        first = session.first_rts
        trend = round(_mean(last) / max(_mean(first), 1.0), 3)

    confused = (
        answer.answer_concept_id
        if answer.answer_concept_id is not None and answer.answer_concept_id != answer.concept_id
        else None
    )
    mode, rule, confidence, rationale = _classify(
        answer=answer,
        rec=rec,
        session_answers=session_answers,
        session_minutes=session_minutes,
        recent_accuracy=recent_accuracy,
        trend=trend,
        confused=confused,
        limits=limits,
    )
    evidence = DiagnosisEvidence(
        rule=rule,
        response_time_ms=answer.response_time_ms,
        question_kind=answer.question_kind,
        concept_attempts=rec.attempts + 1,
        concept_misses=rec.misses + 1,
        concept_prior_correct=rec.correct,
        session_answers=session_answers,
        session_minutes=round(session_minutes, 2),
        session_recent_accuracy=round(recent_accuracy, 3),
        response_time_trend=trend,
        confused_with_concept_id=confused,
    )
    return FailureDiagnosed(
        learner_id=answer.learner_id,
        session_id=answer.session_id,
        concept_id=answer.concept_id,
        question_id=answer.question_id,
        answer_event_id=answer_event_id,
        fail_mode=mode,
        confidence=confidence,
        rationale=rationale,
        evidence=evidence,
    )


def _classify(
    *,
    answer: AnswerSubmitted,
    rec: ConceptRecord,
    session_answers: int,
    session_minutes: float,
    recent_accuracy: float,
    trend: float | None,
    confused: uuid.UUID | None,
    limits: Thresholds,
) -> tuple[FailMode, str, float, str]:
    if session_minutes >= limits.fatigue_session_minutes:
        return (
            FailMode.FATIGUE_ERROR,
            "fatigue.long_session",
            0.7,
            f"session running for {session_minutes:.0f} min; suggest a break",
        )
    if session_answers >= limits.fatigue_session_answers:
        return (
            FailMode.FATIGUE_ERROR,
            "fatigue.many_answers",
            0.65,
            f"{session_answers} answers in this session; suggest a break",
        )
    if (
        trend is not None
        and trend >= limits.fatigue_rt_trend
        and recent_accuracy < limits.fatigue_recent_accuracy_below
    ):
        return (
            FailMode.FATIGUE_ERROR,
            "fatigue.slowing_down",
            0.65,
            f"answers {trend:.1f}x slower than at the start and accuracy down to "
            f"{recent_accuracy:.0%}",
        )
    if answer.response_time_ms < limits.executive_max_response_ms:
        return (
            FailMode.EXECUTIVE_ERROR,
            "executive.too_fast",
            0.7,
            f"answered in {answer.response_time_ms} ms, too fast to have read the question",
        )
    if confused is not None:
        return (
            FailMode.DISCRIMINATION_ERROR,
            "discrimination.sibling_answer",
            0.85,
            "the answer given belongs to a confusable concept",
        )
    if answer.question_kind.integrative and rec.correct > 0:
        return (
            FailMode.INTEGRATION_ERROR,
            "integration.facts_known",
            0.7,
            f"{answer.question_kind.value} question failed although the concept was answered "
            f"correctly {rec.correct} time(s)",
        )
    if rec.correct > 0:
        slow = answer.response_time_ms >= limits.slow_recall_ms
        return (
            FailMode.RETRIEVAL_ERROR,
            "retrieval.known_before",
            0.75 if slow else 0.65,
            f"answered correctly {rec.correct} time(s) before; recall failed"
            + (" after a long search" if slow else ""),
        )
    if rec.misses > 0:
        return (
            FailMode.ENCODING_ERROR,
            "encoding.repeated_misses",
            0.8,
            f"missed {rec.misses + 1} times and never answered correctly: not learned yet",
        )
    return (
        FailMode.ENCODING_ERROR,
        "encoding.first_miss",
        0.55,
        "first attempt on this concept failed: not learned yet",
    )
