"""The diagnosis family: a learner's wrong answers diagnosed by the NCDE rules."""

from __future__ import annotations

from events.learning import AnswerSubmitted, FailureDiagnosed
from services.runtime.family import AgentSpec, Deps, FamilySpec
from services.settings import Latency

__all__ = ["FAMILY"]


def _diagnoser(deps: Deps) -> object:
    from services.diagnosis.agent import Diagnoser

    return Diagnoser()


FAMILY = FamilySpec(
    name="diagnosis",
    summary="answers in, NCDE diagnoses out; a learner's attempts, diagnoses and standing",
    agents=(
        AgentSpec(
            "diagnoser",
            "answer-submitted -> failure-diagnosed (NCDE rules; state rebuilt from the log)",
            consumes=(AnswerSubmitted,),
            produces=(FailureDiagnosed,),
            runner="batched",
            build=_diagnoser,
            replicas=2,
            latency=Latency.STREAM,
        ),
    ),
    read_models=("projections.learning:LearningProjection",),
    router="services.diagnosis.api:router",
    cli={"query": "services.diagnosis.cli:query_app"},
    inputs=(AnswerSubmitted,),
)
