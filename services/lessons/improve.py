"""Improve-lesson (the seed's ``/api/improve-lesson``): Phase 10 v2 on demand, and its answer.

The body is the seed's ``{success, wasImproved, originalScore, finalScore,
scoreDelta, validationFailures?}`` (plus ``error`` when the refinement could
not run). ``success`` says Phase 10 reached a verdict: an accepted candidate,
a rejected one (validation, parse or score) or no change; it is false when it
could not run (no scored lesson, a refinement already running, the model or
the scorer failed). ``validationFailures`` lists what the validator layers
(or the parser) rejected. ``message`` is what ``nls lessons improve`` prints.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from events.lessons import RefinementOutcome

__all__ = ["ImproveBody", "improve_body", "message"]

Outcome = RefinementOutcome


class ImproveBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    success: bool
    was_improved: bool
    original_score: float
    final_score: float
    score_delta: float
    validation_failures: list[str] | None = Field(default=None)
    error: str | None = None


def improve_body(
    outcome: RefinementOutcome,
    *,
    reason: str,
    original_score: float | None,
    candidate_score: float | None,
    applied: bool,
    validation_failures: list[str] | None = None,
) -> ImproveBody:
    original = original_score if original_score is not None else 0.0
    final = candidate_score if applied and candidate_score is not None else original
    failures: list[str] | None = None
    if outcome is Outcome.REJECTED_VALIDATION:
        failures = list(validation_failures or [])
    elif outcome is Outcome.REJECTED_PARSE:
        failures = [f"parse: {reason}"]
    ran = outcome is not Outcome.FAILED
    return ImproveBody(
        success=ran,
        was_improved=applied,
        original_score=original,
        final_score=final,
        score_delta=round(final - original, 2),
        validation_failures=failures,
        error=None if ran else reason,
    )


def message(body: ImproveBody) -> str:
    """The seed's status line: "Improved! Score: 85 -> 93 (+8)", "Validation failed: ..."."""
    if not body.success:
        return f"Refinement failed: {body.error}"
    if body.validation_failures:
        return f"Validation failed: {'; '.join(body.validation_failures[:5])}"
    if body.was_improved:
        return (
            f"Improved! Score: {body.original_score:g} -> {body.final_score:g} "
            f"({body.score_delta:+g})"
        )
    return "Score did not improve"
