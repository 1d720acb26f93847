"""Phases 1-9 of the lesson pipeline, each a family on the strategy registry.

``run_phase`` makes one phase's output from its context with the brief's
strategy (rules, llm, or auto), falling back to rules when a model call fails.
A phase that needs no model (spaced review without prerequisites) runs its
rules whatever the strategy, so no call is spent on an empty block.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from events.lessons import LessonPhase
from services.generation import Family, Gateway, Generated, generate
from services.lessons.phases.assembler import ASSEMBLER
from services.lessons.phases.base import OUTPUT_MODELS, PhaseContext, PhaseError
from services.lessons.phases.checks import UNDERSTANDING_CHECKS
from services.lessons.phases.explanation import EXPLANATION
from services.lessons.phases.integration import INTEGRATION
from services.lessons.phases.planning import PLANNING
from services.lessons.phases.practice import PRACTICE
from services.lessons.phases.spaced_review import SPACED_REVIEW
from services.lessons.phases.vocabulary import VOCABULARY
from services.lessons.phases.worked_example import WORKED_EXAMPLE

__all__ = ["FAMILIES", "OUTPUT_MODELS", "PhaseContext", "PhaseError", "needs_model", "run_phase"]

FAMILIES: dict[LessonPhase, Family[PhaseContext, Any]] = {
    LessonPhase.PLANNING: PLANNING,
    LessonPhase.VOCABULARY: VOCABULARY,
    LessonPhase.EXPLANATION: EXPLANATION,
    LessonPhase.UNDERSTANDING_CHECKS: UNDERSTANDING_CHECKS,
    LessonPhase.WORKED_EXAMPLE: WORKED_EXAMPLE,
    LessonPhase.PRACTICE: PRACTICE,
    LessonPhase.INTEGRATION: INTEGRATION,
    LessonPhase.SPACED_REVIEW: SPACED_REVIEW,
    LessonPhase.ASSEMBLER: ASSEMBLER,
}


def needs_model(phase: LessonPhase, ctx: PhaseContext) -> bool:
    return not (phase is LessonPhase.SPACED_REVIEW and not ctx.material.prerequisites)


async def run_phase(
    phase: LessonPhase, ctx: PhaseContext, *, strategy: str, gateway: Gateway
) -> Generated[BaseModel]:
    family = FAMILIES[phase]
    chosen = strategy if needs_model(phase, ctx) else "rules"
    made: Generated[BaseModel] = await generate(family, ctx, strategy=chosen, gateway=gateway)
    return made
