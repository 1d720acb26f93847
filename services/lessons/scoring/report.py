"""A lesson's score: step 1 (structure) then step 2 (the six categories), with the safety cap.

``grade`` names the band a total falls in; the seed's example calls 85 "Usable".
The seed's six categories carry 15 + 30 + 25 + 10 + 5 + 5 = 90 points; the total
is stated out of 100 (the points scaled by 100/90), the scale of the seed's
threshold (97) and of its example scores (85 -> 93). A lesson whose safety
category scores 0 is capped at ``SAFETY_CAP`` whatever its other categories say
(the seed's safety auto-cap): it can never reach the refinement threshold, nor
be called usable, without its safety content.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from events.lessons import SCORE_CATEGORIES, ScoreCategory, ScoreDetail, ScoreReport
from services.lessons.contract import parse_lesson
from services.lessons.scoring.rubric import rubric_details
from services.lessons.scoring.structure import structural_errors

__all__ = ["SAFETY_CAP", "grade", "invalid", "rubric_score", "total_of"]

SAFETY_CAP = 84.0
POINTS = sum(SCORE_CATEGORIES.values())
_BANDS = ((97, "Excellent"), (90, "Strong"), (85, "Usable"), (70, "Needs work"), (0, "Poor"))


def grade(total: float) -> str:
    return next(name for floor, name in _BANDS if total >= floor)


def total_of(
    details: Sequence[ScoreDetail], method: Literal["rubric", "llm"] = "rubric"
) -> ScoreReport:
    """Category scores (clamped to their points), the capped total and the costly details."""
    categories: dict[ScoreCategory, float] = {}
    for category, points in SCORE_CATEGORIES.items():
        mine = [d for d in details if d.category is category]
        got = sum(d.score for d in mine) if mine else float(points)
        most = sum(d.max_score for d in mine) if mine else float(points)
        # Details may be scored on their own scale (an llm's): bring them to the category's.
        categories[category] = round(min(points, got * points / most), 2)
    total = round(sum(categories.values()) * 100 / POINTS, 2)
    capped = categories[ScoreCategory.SAFETY] == 0 and total > SAFETY_CAP
    total = min(total, SAFETY_CAP) if capped else total
    lossy = [d for d in details if d.score < d.max_score]
    return ScoreReport(
        total=total,
        grade=grade(total),
        categories=categories,
        details=sorted(lossy, key=lambda d: d.score - d.max_score)[:15],
        safety_capped=capped,
        method=method,
    )


def invalid(errors: list[str], method: Literal["rubric", "llm"] = "rubric") -> ScoreReport:
    return ScoreReport(total=0, grade="Invalid", structural_errors=errors[:100], method=method)


def rubric_score(data: Any) -> ScoreReport:
    """Score a lesson's JSON with rules: step 1, then step 2 unless step 1 found errors."""
    errors = structural_errors(data)
    if errors:
        return invalid(errors)
    return total_of(rubric_details(parse_lesson(data)))
