"""From a course request and the settings to the candidates' plans (pure).

The path: the request's ``use_candidates`` when given; else a ``candidate_count``
in the request asks for the candidate path; else ``USE_CANDIDATES``.

- candidate path: K = the request's count or ``CANDIDATE_COUNT``, each with its
  diversity constraint, and no improvement attempts (``QUALITY_RETRY_LIMIT`` 0);
- single path: one candidate (the formal approach at 0.2) with up to
  ``QUALITY_RETRY_LIMIT`` improvement attempts guided by its failed checks.

Thresholds, strategy and deadline are decided here once and travel in every
plan, so the workers and the fan-in never read settings of their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from events.courses import CandidatePlan, CourseRequested
from services.courses import logs
from services.courses.diversity import diversity_for
from services.courses.logs import LogLine
from services.courses.settings import CourseSettings

__all__ = ["announcement", "plan_candidates", "uses_candidates"]


def uses_candidates(request: CourseRequested, settings: CourseSettings) -> bool:
    if request.use_candidates is not None:
        return request.use_candidates
    if request.candidate_count is not None:
        return True
    return settings.use_candidates


def plan_candidates(
    request: CourseRequested, settings: CourseSettings, *, requested_at: datetime
) -> list[CandidatePlan]:
    """One plan per candidate, in index order."""
    candidates = uses_candidates(request, settings)
    count = (request.candidate_count or settings.candidate_count) if candidates else 1
    deadline_at = requested_at + timedelta(seconds=request.deadline_s or settings.course_deadline_s)
    spec = request.spec()
    return [
        CandidatePlan(
            candidate_index=i,
            candidate_count=count,
            method="candidates" if candidates else "single",
            spec=spec,
            diversity=diversity,
            strategy=request.strategy or settings.course_strategy,
            retry_limit=0 if candidates else settings.quality_retry_limit,
            min_viable_score=settings.min_viable_score,
            review_threshold=settings.review_threshold,
            skip_review=settings.skip_review,
            requested_at=requested_at,
            deadline_at=deadline_at,
        )
        for i, diversity in enumerate(diversity_for(request.course_id, count))
    ]


def announcement(request: CourseRequested, plans: list[CandidatePlan]) -> LogLine:
    """The seed's first log line (or the single path's)."""
    first = plans[0]
    fields = {
        "course_id": str(request.course_id),
        "subject": request.subject,
        "grade": request.grade,
        "strategy": first.strategy,
    }
    if first.method == "candidates":
        return LogLine(logs.GENERATING, {**fields, "k": len(plans)})
    return LogLine(logs.GENERATING_SINGLE, {**fields, "quality_retry_limit": first.retry_limit})
