"""Every projection by name."""

from __future__ import annotations

from projections.base import Projection
from projections.content import ContentProjection
from projections.dead_letters import DeadLettersProjection
from projections.drills import DrillsProjection
from projections.learning import LearningProjection
from projections.positions import PositionsProjection
from projections.remediation import RemediationProjection
from projections.training import TrainingProjection
from projections.usage import UsageProjection

__all__ = ["PROJECTIONS", "get_projection"]

PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        LearningProjection(),
        DeadLettersProjection(),
        UsageProjection(),
        ContentProjection(),
        RemediationProjection(),
        PositionsProjection(),
        DrillsProjection(),
        TrainingProjection(),
    )
}


def get_projection(name: str) -> Projection:
    try:
        return PROJECTIONS[name]
    except KeyError:
        known = ", ".join(sorted(PROJECTIONS))
        raise KeyError(f"unknown projection {name!r} (known: {known})") from None
