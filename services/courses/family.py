"""The courses family: K course candidates in parallel, scored alone, the best one kept.

The candidate and review workers take ``NLS_COURSE_CONCURRENCY`` candidates at once
(faust concurrency) and ask for a gateway with as many model calls in flight (see
``services.courses.settings.gateway_settings``): the gateway's default of 4 would
otherwise make the fifth candidate of a K = 5 course wait for a free slot.
"""

from __future__ import annotations

from typing import Any

from events.courses import (
    CandidateScored,
    CourseCandidateFailed,
    CourseCandidateGenerated,
    CourseCandidateRequested,
    CourseFailed,
    CourseNeedsAttention,
    CourseRequested,
    CourseSelected,
)
from services.runtime.family import AgentSpec, Deps, FamilySpec

__all__ = ["FAMILY"]


def _settings(deps: Deps) -> Any:
    from services.courses.settings import CourseSettings

    return deps.settings.section(CourseSettings)


def _orchestrator(deps: Deps) -> Any:
    from services.courses.agents import CourseOrchestrator

    return CourseOrchestrator(_settings(deps))


def _gateway(deps: Deps) -> Any:
    """The gateway (an override wins), with a call in flight per candidate taken at once."""
    import structlog

    from services.courses.settings import gateway_settings, serialised_by
    from services.generation import Gateway, build_gateway

    s = _settings(deps)

    def open_(d: Deps) -> Gateway:
        generation = gateway_settings(d.settings.generation, s)
        gateway = build_gateway(generation)
        why = serialised_by(generation, s)
        if why is not None and gateway.configured:  # the rules make no model calls
            structlog.get_logger(__name__).warning(
                "courses.candidates_partly_serial",
                reason=why,
                effect="some candidates of a course wait for a free slot",
            )
        return gateway

    async def close(gateway: Gateway) -> None:
        await gateway.aclose()

    return deps.resource("gateway", open_, close)


def _generator(deps: Deps) -> Any:
    from services.courses.agents import CandidateGenerator
    from services.courses.facts import FactBank

    s = _settings(deps)
    facts = deps.resource("course_facts", lambda d: FactBank.load(s.course_packs))
    return CandidateGenerator(_gateway(deps), s, facts)


def _reviewer(deps: Deps) -> Any:
    from services.courses.agents import CandidateReviewer

    return CandidateReviewer(_gateway(deps), _settings(deps))


def _saga(deps: Deps) -> Any:
    from services.courses.saga import CourseCandidatesSaga

    return CourseCandidatesSaga()


FAMILY = FamilySpec(
    name="courses",
    summary="worksheet courses: K candidates in parallel, a deterministic score, best of K, "
    "fail fast",
    agents=(
        AgentSpec(
            "course-orchestrator",
            "course-requested -> one course-candidate-requested per candidate (diverse)",
            consumes=(CourseRequested,),
            produces=(CourseCandidateRequested,),
            runner="batched",
            build=_orchestrator,
        ),
        AgentSpec(
            "course-candidates",
            "course-candidate-requested -> course-candidate-generated (rules | llm), or failed",
            consumes=(CourseCandidateRequested,),
            produces=(CourseCandidateGenerated, CourseCandidateFailed),
            runner="faust",
            build=_generator,
        ),
        AgentSpec(
            "course-reviews",
            "course-candidate-generated -> self-review and score -> candidate-scored "
            "(or an improvement attempt on the single path)",
            consumes=(CourseCandidateGenerated,),
            produces=(CandidateScored, CourseCandidateRequested, CourseCandidateFailed),
            runner="faust",
            build=_reviewer,
        ),
        AgentSpec(
            "course-selection",
            "fan-in saga: K scored candidates or the deadline -> course-selected, "
            "course-needs-attention or course-failed",
            consumes=(CourseCandidateRequested, CandidateScored, CourseCandidateFailed),
            produces=(CourseSelected, CourseNeedsAttention, CourseFailed),
            runner="faust",
            build=_saga,
            saga=True,
        ),
    ),
    read_models=("projections.courses:CoursesProjection",),
    router="services.courses.api:router",
    cli={"courses": "services.courses.cli:courses_app"},
    strategies=(
        "services.courses.strategies:COURSE_CANDIDATES",
        "services.courses.strategies:COURSE_REVIEWS",
    ),
    inputs=(CourseRequested,),
    models={"Course v2": "events.courses:Course"},
)
