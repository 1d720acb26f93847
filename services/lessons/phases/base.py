"""What every phase shares: its context (the brief and the outputs it reads) and the
gateway request its llm strategy sends.

A phase's context comes from a ``lesson-phase-requested`` event: the brief plus
the outputs of the phases it reads, each parsed with that phase's output model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, JsonValue, ValidationError

from events.errors import NlsError
from events.lessons import LessonMaterial, LessonPhase, LessonRequested, MaterialConcept
from services.generation import Gateway, Generated, GenerationRequest
from services.lessons.constraints import TeachingConstraints
from services.lessons.phases.models import (
    AssemblerOutput,
    ExplanationOutput,
    IntegrationOutput,
    PlanningOutput,
    PracticeOutput,
    SpacedReviewOutput,
    UnderstandingChecksOutput,
    VocabularyOutput,
    WorkedExampleOutput,
)
from services.lessons.text import acronyms, normalise

__all__ = [
    "FAMILY_PREFIX",
    "OUTPUT_MODELS",
    "MissingInput",
    "PhaseContext",
    "PhaseError",
    "ask_model",
]

FAMILY_PREFIX = "lessons"
T = TypeVar("T", bound=BaseModel)

OUTPUT_MODELS: dict[LessonPhase, type[BaseModel]] = {
    LessonPhase.PLANNING: PlanningOutput,
    LessonPhase.VOCABULARY: VocabularyOutput,
    LessonPhase.EXPLANATION: ExplanationOutput,
    LessonPhase.UNDERSTANDING_CHECKS: UnderstandingChecksOutput,
    LessonPhase.WORKED_EXAMPLE: WorkedExampleOutput,
    LessonPhase.PRACTICE: PracticeOutput,
    LessonPhase.INTEGRATION: IntegrationOutput,
    LessonPhase.SPACED_REVIEW: SpacedReviewOutput,
    LessonPhase.ASSEMBLER: AssemblerOutput,
}


class PhaseError(NlsError, ValueError):
    """A phase cannot make valid content from what it was given (permanent: the same
    inputs fail the same way, so the pipeline records ``lesson-failed``)."""

    def __init__(self, phase: LessonPhase, message: str) -> None:
        self.phase = phase
        super().__init__(f"{phase.value}: {message}")


class MissingInput(PhaseError):
    pass


@dataclass(frozen=True)
class PhaseContext:
    brief: LessonRequested
    outputs: Mapping[LessonPhase, BaseModel] = field(default_factory=dict)

    @classmethod
    def from_inputs(
        cls, brief: LessonRequested, inputs: Mapping[str, Mapping[str, JsonValue]]
    ) -> PhaseContext:
        outputs: dict[LessonPhase, BaseModel] = {}
        for name, data in inputs.items():
            phase = LessonPhase(name)
            try:
                outputs[phase] = OUTPUT_MODELS[phase].model_validate(data)
            except ValidationError as exc:
                raise MissingInput(phase, f"its output does not parse: {exc}") from None
        return cls(brief, outputs)

    def _get(self, phase: LessonPhase, model: type[T]) -> T:
        value = self.outputs.get(phase)
        if not isinstance(value, model):
            raise MissingInput(phase, "this phase's output is not among the inputs")
        return value

    # typed inputs ---------------------------------------------------------------------
    @property
    def plan(self) -> PlanningOutput:
        return self._get(LessonPhase.PLANNING, PlanningOutput)

    @property
    def vocabulary(self) -> VocabularyOutput:
        return self._get(LessonPhase.VOCABULARY, VocabularyOutput)

    @property
    def explanation(self) -> ExplanationOutput:
        return self._get(LessonPhase.EXPLANATION, ExplanationOutput)

    @property
    def checks(self) -> UnderstandingChecksOutput:
        return self._get(LessonPhase.UNDERSTANDING_CHECKS, UnderstandingChecksOutput)

    @property
    def worked_example(self) -> WorkedExampleOutput | None:
        value = self.outputs.get(LessonPhase.WORKED_EXAMPLE)
        return value if isinstance(value, WorkedExampleOutput) else None

    @property
    def practice(self) -> PracticeOutput:
        return self._get(LessonPhase.PRACTICE, PracticeOutput)

    @property
    def integration(self) -> IntegrationOutput:
        return self._get(LessonPhase.INTEGRATION, IntegrationOutput)

    @property
    def spaced_review(self) -> SpacedReviewOutput:
        return self._get(LessonPhase.SPACED_REVIEW, SpacedReviewOutput)

    # derived ----------------------------------------------------------------------------
    @property
    def material(self) -> LessonMaterial:
        return self.brief.material

    @property
    def constraints(self) -> TeachingConstraints:
        return self.plan.constraints

    @property
    def seed(self) -> str:
        return self.brief.lesson_id

    def concept(self, slug: str) -> MaterialConcept:
        for c in (*self.material.focus, *self.material.related, *self.material.prerequisites):
            if c.slug == slug:
                return c
        raise MissingInput(LessonPhase.PLANNING, f"no concept {slug!r} in the material")

    def explanation_text(self) -> str:
        return "\n\n".join(s.content for s in self.explanation.sections)

    @cached_property
    def _taught(self) -> tuple[str, frozenset[str], tuple[str, ...]]:
        parts = [f"{t.term}: {t.definition}" for t in self.vocabulary.terms]
        if LessonPhase.EXPLANATION in self.outputs:
            parts.append(self.explanation_text())
        text = "\n".join(parts)
        plain = normalise(text)
        untaught = tuple(
            name
            for c in (*self.material.focus, *self.material.related)
            if (name := normalise(c.name)) not in plain
        )
        return text, frozenset(acronyms(text)), untaught

    def taught(self) -> tuple[str, set[str]]:
        """The taught text (vocabulary and explanation) and its acronyms."""
        text, found, _ = self._taught
        return text, set(found)

    def uses_only_taught(self, text: str) -> bool:
        """No acronym and no concept name of the material that the lesson has not taught."""
        _, taught_acronyms, untaught = self._taught
        if acronyms(text) - taught_acronyms:
            return False
        plain = normalise(text)
        return not any(name in plain for name in untaught)

    def content(self, *phases: LessonPhase, **extra: Any) -> dict[str, Any]:
        """The data block of this phase's model call: the brief and the outputs it reads."""
        inputs = {
            p.value: self.outputs[p].model_dump(mode="json", by_alias=True, exclude_none=True)
            for p in phases
            if p in self.outputs
        }
        return {"brief": self.brief.model_dump(mode="json"), "inputs": inputs, **extra}


async def ask_model(
    phase: LessonPhase,
    ctx: PhaseContext,
    output: type[T],
    gateway: Gateway,
    *,
    reads: tuple[LessonPhase, ...],
    check: Callable[[T], None] | None = None,
    max_tokens: int = 4096,
    **extra: Any,
) -> Generated[T]:
    return await gateway.generate(
        GenerationRequest(
            task=f"lesson-{phase.value.replace('_', '-')}",
            family=f"{FAMILY_PREFIX}.{phase.value}",
            content=ctx.content(*reads, **extra),
            output=output,
            temperature=0.2,
            max_tokens=max_tokens,
            check=check,
        )
    )
