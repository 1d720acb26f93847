"""The course fan-in: waits for K candidates or the deadline, then finishes the course.

Pure (``decide``/``evolve`` on ``services.runtime.saga``). It starts on the first
``course-candidate-requested`` (which carries K, the thresholds and the deadline),
keeps each candidate's best scored attempt, counts a candidate in once it is
final (``candidate-scored`` with ``final``) or failed, and when all K are in or
the deadline passed it publishes one of:

- ``course-selected``: the argmax (ties to the lowest index) passed the gates;
- ``course-needs-attention``: ``candidate_scores_too_low`` (every score below
  MIN_VIABLE_SCORE: fail fast, no repair) or ``review_below_threshold``;
- ``course-failed``: no candidate was scored.

The seed's log lines come from here, once per course: "Candidate generation
completed", "Candidate scores", "Candidates too similar", "Best candidate
selected", "All candidates below minimum viable score".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from events import Context, Envelope, Payload
from events.courses import (
    AttentionDetails,
    CandidateScored,
    CourseCandidateFailed,
    CourseCandidateRequested,
    CourseDraft,
    CourseFailed,
    CourseNeedsAttention,
    CourseSelected,
    JobSummary,
    Method,
)
from events.sagas import SagaDeadlineReached
from services.courses import logs
from services.courses.logs import LogLine
from services.courses.selection import SIMILARITY_LIMIT, judge, similarity
from services.runtime.saga import Saga, SagaState

__all__ = ["CourseCandidatesSaga", "CourseSagaState", "ScoredCandidate", "finish"]

DEADLINE = "candidates"


class ScoredCandidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float
    attempt: int
    course: CourseDraft
    valid: bool
    issues: list[str] = []


class CourseSagaState(SagaState):
    course_id: uuid.UUID
    method: Method
    candidate_count: int
    min_viable_score: float
    review_threshold: float
    skip_review: bool
    requested_at: AwareDatetime
    best: dict[str, ScoredCandidate] = {}  # by candidate index
    reported: list[int] = []  # candidates final or failed
    failures: dict[str, str] = {}  # by candidate index: why
    tokens: int = 0
    seen: list[uuid.UUID] = []  # events folded in (a republished duplicate counts once)


def _tokens(usage: object) -> int:
    return int(getattr(usage, "input_tokens", 0) + getattr(usage, "output_tokens", 0))


class CourseCandidatesSaga(Saga[CourseSagaState]):
    name = "course-candidates"
    context = Context.COURSES
    state_type = CourseSagaState
    event_types = frozenset(
        {
            CourseCandidateRequested.event_type,
            CandidateScored.event_type,
            CourseCandidateFailed.event_type,
        }
    )

    def decide(self, state: CourseSagaState | None, event: Envelope) -> Sequence[Envelope]:
        after = self.evolve(state.model_copy(deep=True) if state else None, event)
        if after is None or state is None or state.finished or not after.finished:
            return ()
        deadline = isinstance(event.payload, SagaDeadlineReached)
        payload, lines = finish(after, at=event.occurred_at, deadline=deadline)
        logs.emit(lines)
        return [event.derive(payload, role="course-finished", source=f"saga.{self.name}")]

    def evolve(self, state: CourseSagaState | None, event: Envelope) -> CourseSagaState | None:
        p = event.payload
        if isinstance(p, CourseCandidateRequested):
            if state is not None:
                return state
            plan = p.plan
            return CourseSagaState(
                instance_id=event.key,
                correlation_id=event.correlation_id,
                course_id=p.course_id,
                method=plan.method,
                candidate_count=plan.candidate_count,
                min_viable_score=plan.min_viable_score,
                review_threshold=plan.review_threshold,
                skip_review=plan.skip_review,
                requested_at=plan.requested_at,
                deadlines={DEADLINE: plan.deadline_at},
            )
        if state is None or state.finished:
            return state
        if isinstance(p, SagaDeadlineReached):
            return state.model_copy(update={"finished": True, "deadlines": {}})
        if event.event_id in state.seen:
            return state
        seen = [*state.seen, event.event_id]
        best, failures = dict(state.best), dict(state.failures)
        reported, tokens = list(state.reported), state.tokens
        if isinstance(p, CandidateScored):
            key = str(p.candidate_index)
            tokens += p.generation_tokens + _tokens(p.usage)
            held = best.get(key)
            if held is None or p.score > held.score:
                best[key] = ScoredCandidate(
                    score=p.score,
                    attempt=p.attempt,
                    course=p.course,
                    valid=p.valid,
                    issues=p.issues,
                )
            if p.final and p.candidate_index not in reported:
                reported.append(p.candidate_index)
        elif isinstance(p, CourseCandidateFailed):
            tokens += _tokens(p.usage)
            failures[str(p.candidate_index)] = f"{p.stage} {p.reason}: {p.error}"[:300]
            if p.candidate_index not in reported:
                reported.append(p.candidate_index)
        else:
            return state
        done = len(reported) >= state.candidate_count
        return state.model_copy(
            update={
                "best": best,
                "failures": failures,
                "reported": sorted(reported),
                "tokens": tokens,
                "seen": seen,
                "finished": done,
                "deadlines": {} if done else state.deadlines,
            }
        )


def _summary(state: CourseSagaState, at: datetime, index: int | None) -> JobSummary:
    chosen = state.best.get(str(index)) if index is not None else None
    return JobSummary(
        method=state.method,
        candidate_count=state.candidate_count,
        selected_index=index,
        selected_score=round(chosen.score, 4) if chosen else None,
        min_viable_score=state.min_viable_score,
        total_tokens=state.tokens,
        latency_ms=max(0, round((at - state.requested_at).total_seconds() * 1000)),
    )


def finish(
    state: CourseSagaState, *, at: datetime, deadline: bool
) -> tuple[Payload, list[LogLine]]:
    """The course's outcome once every candidate reported or the deadline passed, and
    the seed's log lines saying so."""
    course = {"course_id": str(state.course_id)}
    scored = {int(k): v for k, v in sorted(state.best.items(), key=lambda kv: int(kv[0]))}
    warnings = [f"candidate {k} failed: {why}" for k, why in sorted(state.failures.items())]
    missing = [
        i
        for i in range(state.candidate_count)
        if i not in state.reported and str(i) not in state.best
    ]
    if missing:
        warnings.append(f"candidates {missing} did not report by the deadline")
    made = len(scored) + len(state.failures)
    lines = [
        LogLine(
            logs.COMPLETED,
            {
                **course,
                "succeeded": len(scored),
                "failed": len(state.failures),
                "missing": len(missing),
                "avg_tokens": round(state.tokens / made) if made else 0,
            },
        )
    ]
    if not scored:
        reason = "no_candidate_by_deadline" if deadline and missing else "all_candidates_failed"
        failed = CourseFailed(
            course_id=state.course_id,
            reason=reason,
            failures=warnings[:10],
            summary=_summary(state, at, None),
        )
        return failed, lines
    scores = {i: c.score for i, c in scored.items()}
    listed = [round(s, 4) for s in scores.values()]
    lines.append(LogLine(logs.SCORES, {**course, "scores": listed}))
    pairs = similarity({i: c.course for i, c in scored.items()})
    close = [p for p in pairs if p.cosine > SIMILARITY_LIMIT]
    if close:
        lines.append(
            LogLine(
                logs.TOO_SIMILAR,
                {
                    **course,
                    "pairs": [(p.a, p.b, p.cosine) for p in close],
                    "threshold": SIMILARITY_LIMIT,
                },
                "warning",
            )
        )
        warnings += [f"{logs.TOO_SIMILAR}: {p.a} and {p.b} (cosine {p.cosine:.2f})" for p in close]
    verdict = judge(
        scores,
        min_viable_score=state.min_viable_score,
        review_threshold=state.review_threshold,
        skip_review=state.skip_review,
    )
    summary = _summary(state, at, verdict.index)
    if verdict.outcome == "candidate_scores_too_low":
        lines.append(
            LogLine(
                logs.BELOW_MINIMUM,
                {
                    **course,
                    "max_score": round(verdict.max_score, 4),
                    "min_viable_score": state.min_viable_score,
                    "scores": listed,
                },
                "warning",
            )
        )
        too_low = CourseNeedsAttention(
            course_id=state.course_id,
            error="candidate_scores_too_low",
            details=AttentionDetails(
                max_score=round(verdict.max_score, 4),
                min_viable_score=state.min_viable_score,
                candidate_count=state.candidate_count,
                scores=listed,
            ),
            summary=summary.model_copy(update={"selected_index": None, "selected_score": None}),
            similarity=pairs,
            warnings=warnings[:20],
        )
        return too_low, lines
    lines.append(
        LogLine(logs.SELECTED, {**course, "index": verdict.index, "score": round(verdict.score, 4)})
    )
    if verdict.outcome == "review_below_threshold":
        lines.append(
            LogLine(
                logs.BELOW_REVIEW,
                {
                    **course,
                    "index": verdict.index,
                    "score": round(verdict.score, 4),
                    "review_threshold": state.review_threshold,
                },
                "warning",
            )
        )
        below = CourseNeedsAttention(
            course_id=state.course_id,
            error="review_below_threshold",
            details=AttentionDetails(
                max_score=round(verdict.max_score, 4),
                min_viable_score=state.min_viable_score,
                candidate_count=state.candidate_count,
                scores=listed,
                selected_index=verdict.index,
                review_score=round(verdict.score, 4),
                review_threshold=state.review_threshold,
            ),
            summary=summary,
            similarity=pairs,
            warnings=warnings[:20],
        )
        return below, lines
    chosen = scored[verdict.index]
    selected = CourseSelected(
        course_id=state.course_id,
        selected_index=verdict.index,
        selected_score=round(chosen.score, 4),
        attempt=chosen.attempt,
        course=chosen.course,
        valid=chosen.valid,
        issues=chosen.issues[:200],
        summary=summary,
        similarity=pairs,
        warnings=warnings[:20],
        review_skipped=state.skip_review,
    )
    return selected, lines
