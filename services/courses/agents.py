"""The course agents, behind the common handler contract (each returns every event it
emits and takes its dependencies in the constructor).

- ``CourseOrchestrator`` (no I/O; a batched consumer): ``course-requested`` -> one
  ``course-candidate-requested`` per candidate;
- ``CandidateGenerator`` (faust, ``concurrency`` candidates at once):
  ``course-candidate-requested`` -> ``course-candidate-generated``, or
  ``course-candidate-failed`` (timeout, bad output after the re-ask with the
  fallback off, no source material);
- ``CandidateReviewer`` (faust): ``course-candidate-generated`` -> self-review and
  score, alone -> ``candidate-scored``; on the single path a candidate that needs
  improvement also gets a new ``course-candidate-requested`` (attempt + 1, guided
  by its failed checks).
- The fan-in is ``services.courses.saga.CourseCandidatesSaga``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Literal, TypeVar

import structlog

from events import Envelope
from events.common import GenerationUsage
from events.courses import (
    CandidatePlan,
    CandidateScored,
    CourseCandidateFailed,
    CourseCandidateGenerated,
    CourseCandidateRequested,
    CourseRequested,
)
from services.bus.consumer import Delivery
from services.courses import logs
from services.courses.checks import HARD_CHECKS, check_candidate
from services.courses.errors import CourseError
from services.courses.facts import FactBank
from services.courses.llm import ReviewTask
from services.courses.planning import announcement, plan_candidates
from services.courses.rules import CandidateTask
from services.courses.scoring import Scorecard, needs_improvement, score
from services.courses.settings import CourseSettings
from services.courses.strategies import COURSE_CANDIDATES, COURSE_REVIEWS
from services.generation import Family, Gateway, Generated, GenerationError, generate, resolve
from services.generation.pricing import estimate_cost

__all__ = ["CandidateGenerator", "CandidateReviewer", "CourseOrchestrator", "tokens_of"]

log = structlog.get_logger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


def tokens_of(usage: GenerationUsage | None) -> int:
    return usage.input_tokens + usage.output_tokens if usage else 0


class CourseOrchestrator:
    name = "course-orchestrator"
    event_types: frozenset[str] | None = frozenset({CourseRequested.event_type})

    def __init__(self, settings: CourseSettings) -> None:
        self.settings = settings

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        r = event.payload_as(CourseRequested)
        plans = plan_candidates(r, self.settings, requested_at=event.occurred_at)
        logs.emit([announcement(r, plans)])
        return [
            event.derive(
                CourseCandidateRequested(course_id=r.course_id, plan=plan),
                role=f"candidate:{plan.candidate_index}",
                source=self.name,
            )
            for plan in plans
        ]


def _spent_usage(exc: GenerationError, family: str, strategy: str) -> GenerationUsage:
    spent = exc.spent
    return GenerationUsage(
        family=family,
        task=exc.task,
        strategy=strategy,
        provider=exc.provider,
        model=exc.model,
        input_tokens=spent.input_tokens,
        output_tokens=spent.output_tokens,
        cached_tokens=spent.cached_tokens,
        cost_usd=estimate_cost(
            exc.model, spent.input_tokens, spent.output_tokens, spent.cached_tokens
        ),
        latency_ms=round(spent.latency_ms, 3),
        attempts=max(1, spent.attempts),
        fallback_reason=f"{exc.reason}: {exc.args[0]}"[:300],
    )


async def _run(
    family: Family[In, Out], value: In, strategy: str, gateway: Gateway, *, fallback: bool
) -> Generated[Out]:
    """The family's strategy; without ``fallback`` an llm failure is raised, not replaced."""
    if fallback or resolve(family, strategy, gateway) == family.rules_name:
        return await generate(family, value, strategy=strategy, gateway=gateway)
    assert family.llm is not None
    return await family.llm(value, gateway)


async def _stage(
    family: Family[In, Out],
    stage: Literal["generation", "review"],
    task: In,
    event: Envelope,
    plan: CandidatePlan,
    course_id: uuid.UUID,
    gateway: Gateway,
    settings: CourseSettings,
) -> Generated[Out] | Envelope:
    """One candidate stage within its time limit, or the event saying why it failed."""
    limit = settings.course_candidate_timeout_s
    try:
        async with asyncio.timeout(limit):
            return await _run(
                family, task, plan.strategy, gateway, fallback=settings.course_llm_fallback
            )
    except TimeoutError:
        what = "candidate" if stage == "generation" else "review"
        return _failed(event, plan, course_id, stage, "timeout", f"no {what} within {limit:g}s")
    except GenerationError as exc:
        usage = _spent_usage(exc, "courses", "llm")
        return _failed(event, plan, course_id, stage, exc.reason, str(exc), usage)
    except CourseError as exc:
        return _failed(event, plan, course_id, stage, exc.reason, str(exc))


def _failed(
    event: Envelope,
    plan: CandidatePlan,
    course_id: uuid.UUID,
    stage: Literal["generation", "review"],
    reason: str,
    error: str,
    usage: GenerationUsage | None = None,
) -> Envelope:
    d = plan.diversity
    log.warning(
        "Candidate failed",
        course_id=str(course_id),
        index=plan.candidate_index,
        attempt=plan.attempt,
        stage=stage,
        reason=reason,
        error=error[:300],
    )
    return event.derive(
        CourseCandidateFailed(
            course_id=course_id,
            candidate_index=plan.candidate_index,
            candidate_count=plan.candidate_count,
            attempt=plan.attempt,
            stage=stage,
            reason=reason[:64],
            error=error[:2000] or reason,
            approach=d.approach,
            temperature=d.temperature,
            seed=d.seed,
            usage=usage,
        ),
        role="candidate-failed",
        source="course-candidates" if stage == "generation" else "course-reviews",
    )


class CandidateGenerator:
    name = "course-candidates"
    event_types: frozenset[str] | None = frozenset({CourseCandidateRequested.event_type})

    def __init__(self, gateway: Gateway, settings: CourseSettings, facts: FactBank) -> None:
        self.gateway = gateway
        self.settings = settings
        self.facts = facts
        self.concurrency = settings.course_concurrency  # candidates in flight (faust)

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        r = event.payload_as(CourseCandidateRequested)
        plan = r.plan
        task = CandidateTask(
            spec=plan.spec,
            diversity=plan.diversity,
            facts=self.facts,
            attempt=plan.attempt,
            guidance=tuple(plan.guidance),
            previous=plan.previous,
            timeout_s=self.settings.course_llm_timeout_s,
        )
        made = await _stage(
            COURSE_CANDIDATES,
            "generation",
            task,
            event,
            plan,
            r.course_id,
            self.gateway,
            self.settings,
        )
        if isinstance(made, Envelope):
            return [made]
        log.info(
            "Candidate generated",
            course_id=str(r.course_id),
            index=plan.candidate_index,
            attempt=plan.attempt,
            strategy=made.usage.strategy,
            tokens=tokens_of(made.usage),
        )
        generated = CourseCandidateGenerated(
            course_id=r.course_id, plan=plan, course=made.value, usage=made.usage
        )
        return [event.derive(generated, role="candidate-generated", source=self.name)]


def _guidance(card: Scorecard) -> list[str]:
    """The failed checks, hard ones first, for the next attempt."""
    hard = [str(d) for d in card.deductions if d.check in HARD_CHECKS]
    soft = [str(d) for d in card.deductions if d.check not in HARD_CHECKS]
    return [g[:300] for g in [*hard, *soft][:30]]


class CandidateReviewer:
    name = "course-reviews"
    event_types: frozenset[str] | None = frozenset({CourseCandidateGenerated.event_type})

    def __init__(self, gateway: Gateway, settings: CourseSettings) -> None:
        self.gateway = gateway
        self.settings = settings
        self.concurrency = settings.course_concurrency

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        g = event.payload_as(CourseCandidateGenerated)
        plan = g.plan
        report = check_candidate(g.course, plan.spec)
        task = ReviewTask(
            plan.spec,
            g.course,
            report,
            seed=plan.diversity.seed,
            timeout_s=self.settings.course_llm_timeout_s,
        )
        reviewed = await _stage(
            COURSE_REVIEWS, "review", task, event, plan, g.course_id, self.gateway, self.settings
        )
        if isinstance(reviewed, Envelope):
            return [reviewed]
        card = score(report, reviewed.value)
        retry = (
            plan.method == "single"
            and plan.attempt < plan.retry_limit
            and needs_improvement(card, plan.review_threshold)
        )
        usage = reviewed.usage.model_copy(update={"family": "courses"})
        d = plan.diversity
        scored = CandidateScored(
            course_id=g.course_id,
            candidate_index=plan.candidate_index,
            candidate_count=plan.candidate_count,
            score=card.score,
            breakdown=card.breakdown,
            self_review=reviewed.value.scores(),
            issues=card.issues[:200],
            approach=d.approach,
            temperature=d.temperature,
            seed=d.seed,
            item_count=report.item_count,
            usage=usage,
            course=g.course,
            valid=report.valid,
            attempt=plan.attempt,
            final=not retry,
            strategy=g.usage.strategy,
            generation_tokens=tokens_of(g.usage),
        )
        log.info(
            "Candidate scored",
            course_id=str(g.course_id),
            index=plan.candidate_index,
            attempt=plan.attempt,
            score=round(card.score, 4),
            issues=len(card.deductions),
            retry=retry,
        )
        out = [event.derive(scored, role="candidate-scored", source=self.name)]
        if retry:
            again = CandidatePlan.model_validate(
                {
                    **plan.model_dump(),
                    "attempt": plan.attempt + 1,
                    "guidance": _guidance(card),
                    "previous": g.course,
                }
            )
            out.append(
                event.derive(
                    CourseCandidateRequested(course_id=g.course_id, plan=again),
                    role="improvement-requested",
                    source=self.name,
                )
            )
        return out
