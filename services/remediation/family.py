"""The remediation family: a diagnosis becomes a plan of atoms, generated just in time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.content import AtomGenerationRequested, AtomsGenerated
from events.learning import FailureDiagnosed, RemediationPlanned
from services.runtime.family import AgentSpec, Deps, FamilySpec
from services.settings import Latency

if TYPE_CHECKING:
    from services.remediation.store import ContentStore

__all__ = ["FAMILY", "content_store"]


def content_store(deps: Deps) -> ContentStore:
    """Concepts and atoms as the read models hold them (read-only)."""
    from services.remediation.store import PostgresContentStore

    return deps.resource("content_store", lambda d: PostgresContentStore(d.read_engine()))


def _service(deps: Deps) -> Any:
    from services.remediation.service import JITGenerationService
    from services.remediation.settings import JitSettings

    strategy = deps.settings.section(JitSettings).jit_strategy
    return JITGenerationService(content_store(deps), deps.gateway(), strategy=strategy)


def _router(deps: Deps) -> Any:
    from services.remediation.agents import RemediationRouter
    from services.remediation.settings import JitSettings

    jit = deps.settings.section(JitSettings)
    return RemediationRouter(
        content_store(deps),
        _service(deps),
        enable_jit=jit.enable_jit,
        concurrency=jit.jit_concurrency,
    )


def _generator(deps: Deps) -> Any:
    from services.remediation.agents import JitGenerator
    from services.remediation.settings import JitSettings

    concurrency = deps.settings.section(JitSettings).jit_concurrency
    return JitGenerator(_service(deps), concurrency=concurrency)


FAMILY = FamilySpec(
    name="remediation",
    summary="remediation plans of learning atoms, generated just in time (rules or llm)",
    agents=(
        AgentSpec(
            "remediation",
            "failure-diagnosed -> remediation-planned, generating atoms just in time first",
            consumes=(FailureDiagnosed,),
            produces=(RemediationPlanned, AtomsGenerated),
            runner="faust",
            build=_router,
            replicas=2,
            latency=Latency.INTERACTIVE,
        ),
        AgentSpec(
            "jit",
            "atom-generation-requested -> atoms-generated (+ a failed question's plan)",
            consumes=(AtomGenerationRequested,),
            produces=(AtomsGenerated, RemediationPlanned),
            runner="faust",
            build=_generator,
            replicas=2,
            latency=Latency.INTERACTIVE,
        ),
    ),
    read_models=("projections.remediation:RemediationProjection",),
    router="services.remediation.api:router",
    cli={"generate": "services.remediation.cli:generate_app"},
    strategies=("services.remediation.service:JIT",),
    inputs=(AtomGenerationRequested,),
)
