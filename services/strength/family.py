"""The strength family: today's strength session adjusted just in time, under hard limits."""

from __future__ import annotations

from typing import Any

from events.training import SessionJitGenerated, SessionJitRequested
from services.runtime.family import AgentSpec, Deps, FamilySpec
from services.settings import Latency

__all__ = ["FAMILY"]


def _adjuster(deps: Deps) -> Any:
    from services.strength.agent import TrainingJit
    from services.strength.settings import TrainingSettings

    strategy = deps.settings.section(TrainingSettings).training_jit_strategy
    return TrainingJit(deps.gateway(), strategy=strategy)


FAMILY = FamilySpec(
    name="strength",
    summary="strength-session adjustment by formula, llm or hybrid, under hard constraints",
    agents=(
        AgentSpec(
            "training-jit",
            "session-jit-requested -> session-jit-generated (formula | llm | hybrid)",
            consumes=(SessionJitRequested,),
            produces=(SessionJitGenerated,),
            runner="faust",
            build=_adjuster,
            latency=Latency.INTERACTIVE,
        ),
    ),
    read_models=("projections.training:TrainingProjection",),
    router="services.strength.api:router",
    cli={"training": "services.strength.cli:training_app"},
    strategies=("services.strength.strategies:TRAINING",),
    inputs=(SessionJitRequested,),
)
