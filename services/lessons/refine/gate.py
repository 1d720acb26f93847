"""Phase 10's decisions: what a rewrite came to, and whether its candidate replaces the lesson.

``judge_rewrite`` turns a rewrite into a candidate to score, or a rejection
saying why (parse failure, validation failures, no change, no reply).
``gate`` accepts a scored candidate only if it scores at least the original;
a candidate that could not be scored is rejected too. An accepted candidate is
applied unless the rewrite ran in shadow mode (run and record, keep the
original) or without auto-apply. ``refine`` runs the whole of Phase 10 in
one process (tests, benchmarks, ``improve`` without a broker); the pipeline
runs the same steps as events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from events.common import GenerationUsage
from events.lessons import RefinementOutcome, RewriteSettings, ScoreReport
from services.generation import Gateway
from services.lessons.refine.rewrite import RewriteResult, rewrite
from services.lessons.refine.validators import validate_candidate

__all__ = ["Refinement", "gate", "judge_rewrite", "refine"]

Outcome = RefinementOutcome


@dataclass
class Refinement:
    """Phase 10's outcome: anything but accepted keeps the original."""

    outcome: RefinementOutcome
    reason: str
    original_score: float
    validation_failures: list[str] = field(default_factory=list)
    candidate: dict[str, Any] | None = None
    candidate_score: float | None = None
    candidate_report: ScoreReport | None = None
    applied: bool = False
    shadow: bool = False
    changes: list[str] = field(default_factory=list)
    usage: GenerationUsage | None = None

    @property
    def final_score(self) -> float:
        return (
            self.candidate_score
            if self.applied and self.candidate_score is not None
            else self.original_score
        )


def judge_rewrite(
    original: dict[str, Any], result: RewriteResult, original_score: float
) -> Refinement:
    """A candidate ready for scoring (outcome ACCEPTED so far) or a rejection."""
    base: dict[str, Any] = {
        "original_score": original_score,
        "usage": result.usage,
        "changes": result.changes,
    }
    if result.run_error is not None:
        return Refinement(Outcome.FAILED, f"the rewrite did not run: {result.run_error}", **base)
    if result.parse_error is not None or result.candidate is None:
        why = result.parse_error or "no lesson in the reply"
        return Refinement(Outcome.REJECTED_PARSE, f"the rewrite is not a lesson: {why}", **base)
    failures = validate_candidate(original, result.candidate)
    if failures:
        layers = sorted({f.split(":", 1)[0] for f in failures})
        return Refinement(
            Outcome.REJECTED_VALIDATION,
            f"{len(failures)} validation failure(s) ({', '.join(layers)})",
            validation_failures=failures[:200],
            **base,
        )
    if result.candidate == original:
        return Refinement(Outcome.UNCHANGED, "the rewrite proposed no change", **base)
    return Refinement(
        Outcome.ACCEPTED, "passed the three validator layers", candidate=result.candidate, **base
    )


def gate(
    proposal: Refinement,
    candidate_report: ScoreReport | None,
    settings: RewriteSettings,
    *,
    scoring_error: str | None = None,
) -> Refinement:
    """The score gate: keep the candidate only if it scores at least the original."""
    if candidate_report is None:
        why = scoring_error or "no score"
        return _with(proposal, Outcome.FAILED, f"the candidate could not be scored: {why}")
    got, had = candidate_report.total, proposal.original_score
    scored = {"candidate_score": got, "candidate_report": candidate_report}
    if candidate_report.structural_errors or got < had:
        return _with(
            proposal, Outcome.REJECTED_SCORE, f"the candidate scores {got:g} < {had:g}", **scored
        )
    shadow = settings.shadow_mode
    applied = settings.auto_apply and not shadow
    how = (
        "shadow mode: recorded, original kept"
        if shadow
        else ("applied" if applied else "autoApply is off: recorded, not applied")
    )
    return _with(
        proposal,
        Outcome.ACCEPTED,
        f"the candidate scores {got:g} >= {had:g}; {how}",
        applied=applied,
        shadow=shadow,
        **scored,
    )


def _with(p: Refinement, outcome: RefinementOutcome, reason: str, **changes: Any) -> Refinement:
    values = {**p.__dict__, "outcome": outcome, "reason": reason, **changes}
    return Refinement(**values)


Scorer = Callable[[dict[str, Any]], Awaitable[ScoreReport]]


async def refine(
    lesson: dict[str, Any],
    report: ScoreReport,
    *,
    settings: RewriteSettings,
    strategy: str,
    gateway: Gateway,
    scorer: Scorer,
) -> Refinement:
    """Rewrite once, validate, re-score with ``scorer`` (the original's) and gate.

    Never raises for a bad rewrite or a failed score: the refinement says why."""
    result = await rewrite(lesson, report, settings=settings, strategy=strategy, gateway=gateway)
    proposal = judge_rewrite(lesson, result, report.total)
    if proposal.outcome is not Outcome.ACCEPTED or proposal.candidate is None:
        return proposal
    try:
        candidate_report = await scorer(proposal.candidate)
    except Exception as exc:  # any scoring failure keeps the original, said out loud
        return gate(proposal, None, settings, scoring_error=f"{type(exc).__name__}: {exc}")
    return gate(proposal, candidate_report, settings)
