"""The courses family on the strategy registry: candidates and self-reviews.

- ``COURSE_CANDIDATES``: rules (``rules.rules_course``) or llm (``llm.llm_course``);
- ``COURSE_REVIEWS``: rules (``scoring.review_of_checks``: the checks plus
  readability) or llm (``llm.llm_review``).

``auto`` is llm when a provider is configured, else rules; an llm failure makes
the rules candidate (or review) instead and records ``rules_fallback``, per
candidate.
"""

from __future__ import annotations

from events.courses import CourseDraft
from services.courses.llm import ReviewTask, llm_course, llm_review
from services.courses.rules import CandidateTask, rules_course
from services.courses.scoring import Review, review_of_checks
from services.generation import Family, register

__all__ = ["COURSE_CANDIDATES", "COURSE_REVIEWS", "rules_review"]


def rules_review(task: ReviewTask) -> Review:
    return review_of_checks(task.report, task.spec)


COURSE_CANDIDATES: Family[CandidateTask, CourseDraft] = register(
    Family("courses", rules_course, llm=llm_course, task="course-candidate")
)
COURSE_REVIEWS: Family[ReviewTask, Review] = register(
    Family("course-reviews", rules_review, llm=llm_review, task="course-review")
)
