"""The candidate score: the checks and the self-review, weighed by the seed's weights.

Schema 30 %, placeholders 20 %, modes 20 %, consistency 15 %, self-review 15 %
(``events.courses.SCORE_WEIGHTS``). A candidate is scored alone, never beside
the others. ``review_of_checks`` is the rules strategy's self-review: a
deterministic read of the checks plus a readability measure against the grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, Field

from events.courses import CourseSpec, ScoreBreakdown, SelfReview
from services.courses.checks import HARD_CHECKS, CheckReport, Deduction
from services.courses.readability import age_fit, fk_grade

__all__ = [
    "LONG_ITEM",
    "REVIEW_NOTE_BELOW",
    "Review",
    "Scorecard",
    "needs_improvement",
    "review_of_checks",
    "score",
]

LONG_ITEM = 260  # characters: longer item texts read as unclear
REVIEW_NOTE_BELOW = 0.7


class Review(BaseModel):
    """A self-review: the three 0-1 scores and what the reviewer noticed."""

    clarity: float = Field(ge=0, le=1)
    age_fit: float = Field(ge=0, le=1)
    correctness: float = Field(ge=0, le=1)
    notes: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list, max_length=10)

    def scores(self) -> SelfReview:
        return SelfReview(clarity=self.clarity, age_fit=self.age_fit, correctness=self.correctness)


@dataclass(frozen=True)
class Scorecard:
    breakdown: ScoreBreakdown
    score: float
    deductions: tuple[Deduction, ...]

    @property
    def issues(self) -> list[str]:
        return [str(d) for d in self.deductions]


def review_of_checks(report: CheckReport, spec: CourseSpec) -> Review:
    """The rules self-review: clarity and correctness read from the checks, age fit from
    the Flesch-Kincaid grade of the items' prose against the requested grade."""
    n = report.item_count
    if n == 0:
        return Review(clarity=0, age_fit=0, correctness=0, notes=["the candidate has no items"])
    long_items = sum(1 for t in report.texts if len(t) > LONG_ITEM)
    unclear = report.items_failing("schema", "placeholders", "modes")
    clarity = max(0.0, 1 - (unclear + long_items) / n)
    wrong = report.items_failing("consistency.math", "consistency.duplicates", "consistency.empty")
    correctness = 1 - wrong / n
    fit = age_fit(report.texts, spec.grade)
    notes = []
    if unclear or long_items:
        notes.append(f"{unclear + long_items} of {n} items are unclear or too long")
    if fit < 1:
        level = fk_grade(report.texts) or 0.0
        notes.append(f"the prose reads at grade {level:.1f}, above grade {spec.grade}")
    if wrong:
        notes.append(f"{wrong} of {n} items have a wrong, duplicate or empty answer")
    return Review(
        clarity=round(clarity, 4), age_fit=fit, correctness=round(correctness, 4), notes=notes
    )


def score(report: CheckReport, review: Review) -> Scorecard:
    """The weighted score of a candidate; every deduction names its item and check."""
    overall = round((review.clarity + review.age_fit + review.correctness) / 3, 4)
    breakdown = ScoreBreakdown(
        schema_validity=report.schema_validity,
        placeholders=report.placeholders,
        mode_constraints=report.mode_constraints,
        consistency=report.consistency,
        self_review=overall,
    )
    deductions = list(report.deductions)
    if overall < REVIEW_NOTE_BELOW or review.notes:
        low = [
            f"{name} {value:.2f}"
            for name, value in (
                ("clarity", review.clarity),
                ("age_fit", review.age_fit),
                ("correctness", review.correctness),
            )
            if value < 1
        ]
        detail = "; ".join([*low[:3], *review.notes[:3]]) or "no notes"
        deductions.append(Deduction("course", "self_review", detail[:300]))
    return Scorecard(breakdown, breakdown.weighted_total(), tuple(deductions))


def needs_improvement(card: Scorecard, threshold: float) -> bool:
    """Whether the single path should try again: below the bar, or a hard check failed."""
    return card.score < threshold or any(d.check in HARD_CHECKS for d in card.deductions)
