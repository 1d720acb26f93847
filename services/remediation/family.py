"""The remediation family: a diagnosis becomes a plan of atoms, generated just in time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.content import AtomGenerationRequested, AtomsGenerated
from events.learning import FailureDiagnosed, RemediationPlanned
from services.runtime.family import AgentSpec, Deps, FamilySpec

if TYPE_CHECKING:
    from services.remediation.store import ContentStore

__all__ = ["FAMILY", "content_store"]


def content_store(deps: Deps) -> ContentStore:
    """Concepts and atoms as the read models hold them (read-only)."""
    from services.remediation.store import PostgresContentStore

    return deps.resource("content_store", lambda d: PostgresContentStore(d.read_engine()))


def _router(deps: Deps) -> Any:
    from services.remediation.agents import RemediationRouter
    from services.remediation.settings import JitSettings

    enable = deps.settings.section(JitSettings).enable_jit
    return RemediationRouter(content_store(deps), enable_jit=enable)


def _generator(deps: Deps) -> Any:
    from services.remediation.agents import JitGenerator
    from services.remediation.service import JITGenerationService
    from services.remediation.settings import JitSettings

    jit = deps.settings.section(JitSettings)
    service = JITGenerationService(content_store(deps), deps.gateway(), strategy=jit.jit_strategy)
    return JitGenerator(service, concurrency=jit.jit_concurrency)


FAMILY = FamilySpec(
    name="remediation",
    summary="remediation plans of learning atoms, generated just in time (rules or llm)",
    agents=(
        AgentSpec(
            "remediation",
            "failure-diagnosed -> remediation-planned, or a JIT request first",
            consumes=(FailureDiagnosed,),
            produces=(RemediationPlanned, AtomGenerationRequested),
            runner="batched",
            build=_router,
            interactive=True,
        ),
        AgentSpec(
            "jit",
            "atom-generation-requested -> atoms-generated (+ the plan it completes)",
            consumes=(AtomGenerationRequested,),
            produces=(AtomsGenerated, RemediationPlanned),
            runner="faust",
            build=_generator,
            replicas=2,
            interactive=True,
        ),
    ),
    read_models=("projections.remediation:RemediationProjection",),
    router="services.remediation.api:router",
    cli={"generate": "services.remediation.cli:generate_app"},
    strategies=("services.remediation.service:JIT",),
    inputs=(AtomGenerationRequested,),
)
