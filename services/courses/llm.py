"""The llm strategy: candidates and self-reviews written by a model through the gateway.

A candidate is asked for with ``course-candidate@v1``: the request, the
diversity constraint (approach and style hints), the source material (the
pack's statements on the subject, or the grade's arithmetic skills) and, for an
improvement attempt, the previous attempt with its failed checks. The reply is
a ``CourseDraft``: the gateway checks its types only, so that a damaged course
still comes back to be scored, never repaired (no per-item re-asks).

The self-review is asked for with ``course-review@v1``, one candidate at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.courses import CourseDraft, CourseSpec
from services.courses.checks import CheckReport
from services.courses.errors import NoSourceMaterial
from services.courses.facts import is_math
from services.courses.rules import CandidateTask
from services.courses.scoring import Review
from services.courses.skills import skills_for
from services.generation import Gateway, Generated, GenerationRequest

__all__ = [
    "MAX_SOURCES",
    "ReviewTask",
    "candidate_content",
    "llm_course",
    "llm_review",
    "review_content",
]

MAX_SOURCES = 60  # statements sent as source material


@dataclass(frozen=True)
class ReviewTask:
    """What one candidate's self-review needs (the checks are for the rules review)."""

    spec: CourseSpec
    course: CourseDraft
    report: CheckReport
    seed: int | None = None
    timeout_s: float | None = None


def _request(spec: CourseSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json")


def _sources(task: CandidateTask) -> dict[str, Any]:
    spec = task.spec
    if is_math(spec.subject):
        return {"arithmetic_skills": [s.title for s in skills_for(spec.grade, spec.topic)]}
    try:
        concepts = task.facts.concepts_for(spec.subject, spec.topic)
    except NoSourceMaterial:
        return {"statements": []}  # the model writes from what it knows; the checks judge
    statements: list[str] = []
    for c in concepts:
        if c.definition:
            statements.append(f"{c.name}: {c.definition}")
        statements += [f.statement for f in c.facts]
    return {"statements": statements[:MAX_SOURCES]}


def candidate_content(task: CandidateTask) -> dict[str, Any]:
    """The data block of a candidate request."""
    content: dict[str, Any] = {
        "request": _request(task.spec),
        "constraint": {
            "approach": task.diversity.approach.value,
            "style_hints": list(task.diversity.style_hints),
        },
        "sources": _sources(task),
    }
    if task.attempt:
        content["improve"] = {
            "attempt": task.attempt,
            "failed_checks": list(task.guidance),
            "previous": task.previous.model_dump(mode="json") if task.previous else None,
        }
    return content


def _max_tokens(spec: CourseSpec) -> int:
    return min(16_000, 600 + 160 * spec.groups * spec.items_per_group)


async def llm_course(task: CandidateTask, gateway: Gateway) -> Generated[CourseDraft]:
    return await gateway.generate(
        GenerationRequest(
            task="course-candidate",
            family="courses",
            content=candidate_content(task),
            output=CourseDraft,
            temperature=task.diversity.temperature,
            seed=task.diversity.seed,
            timeout_s=task.timeout_s,
            max_tokens=_max_tokens(task.spec),
        )
    )


def review_content(task: ReviewTask) -> dict[str, Any]:
    """The data block of a review request: the request and this one candidate only."""
    return {"request": _request(task.spec), "candidate": task.course.model_dump(mode="json")}


async def llm_review(task: ReviewTask, gateway: Gateway) -> Generated[Review]:
    return await gateway.generate(
        GenerationRequest(
            task="course-review",
            family="courses",
            content=review_content(task),
            output=Review,
            temperature=0.0,
            seed=task.seed,
            timeout_s=task.timeout_s,
            max_tokens=600,
        )
    )
