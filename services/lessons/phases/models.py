"""The output model of each phase (1-9): what a phase's rules or its model must produce.

The bounds are the seed's (1-2 sections, 3-4 outcomes, 4-6 terms, 2-4 checks per
section, 4-6 practice, 2-3 integration questions); cross-field rules that need
the phase's inputs (answers present in the explanation, only taught vocabulary)
are each phase's ``check``.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from services.lessons.constraints import TeachingConstraints
from services.lessons.contract import (
    Camel,
    DiagramContent,
    Layout,
    Lesson,
    Line,
    Outcome,
    OutcomeLevel,
    Question,
    Term,
    Text,
    WorkedStep,
)
from services.lessons.text import normalise

__all__ = [
    "AssemblerOutput",
    "AssemblyNotes",
    "CheckSet",
    "ExplanationOutput",
    "ExplanationSection",
    "IntegrationOutput",
    "PlanningOutput",
    "PracticeOutput",
    "SectionPlan",
    "SpacedReviewOutput",
    "UnderstandingChecksOutput",
    "VocabularyOutput",
    "WorkedExampleOutput",
]


class SectionPlan(Camel):
    title: Line
    concepts: list[str] = Field(min_length=1, max_length=5, description="pack concept slugs")
    focus: Line


class PlanningOutput(Camel):
    title: Line
    layout: Layout
    sections: list[SectionPlan] = Field(min_length=1, max_length=2)
    learning_outcomes: list[Outcome] = Field(min_length=3, max_length=4)
    needs_worked_example: bool
    worked_example_kind: Literal["calculation", "procedure"] | None = None
    constraints: TeachingConstraints
    diagram: DiagramContent | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        levels = {o.level for o in self.learning_outcomes}
        if levels != set(OutcomeLevel):
            raise ValueError("learning outcomes must cover remember, understand and apply")
        if self.needs_worked_example != (self.worked_example_kind is not None):
            raise ValueError("a worked example needs its kind, and only then")
        if self.worked_example_kind == "calculation" and self.constraints.no_calculations:
            raise ValueError("no worked calculation under noCalculations")
        if self.worked_example_kind == "procedure" and not self.constraints.allows_procedures:
            raise ValueError("no worked procedure when the constraints exclude how-to")
        if (self.layout is Layout.SPLIT_VIS) != (self.diagram is not None):
            raise ValueError("split-vis needs a diagram, and only split-vis has one")
        return self


class VocabularyOutput(Camel):
    terms: list[Term] = Field(min_length=4, max_length=6)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        names = [normalise(t.term) for t in self.terms]
        if len(set(names)) != len(names):
            raise ValueError("terms must be distinct")
        return self


class ExplanationSection(Camel):
    title: Line
    content: Text


class ExplanationOutput(Camel):
    sections: list[ExplanationSection] = Field(min_length=1, max_length=2)


class CheckSet(Camel):
    section: int = Field(ge=1, le=2, description="the explanation section it follows")
    questions: list[Question] = Field(min_length=2, max_length=4)


class UnderstandingChecksOutput(Camel):
    checks: list[CheckSet] = Field(min_length=1, max_length=2)

    @model_validator(mode="after")
    def _one_per_section(self) -> Self:
        if [c.section for c in self.checks] != list(range(1, len(self.checks) + 1)):
            raise ValueError("one check set per section, in section order")
        return self


class WorkedExampleOutput(Camel):
    title: Line
    kind: Literal["calculation", "procedure"]
    given: Line
    steps: list[WorkedStep] = Field(min_length=2, max_length=12)
    final_answer: Line

    @model_validator(mode="after")
    def _numbered(self) -> Self:
        if [s.step_number for s in self.steps] != list(range(1, len(self.steps) + 1)):
            raise ValueError("steps are numbered 1, 2, 3, ...")
        return self


class PracticeOutput(Camel):
    questions: list[Question] = Field(min_length=4, max_length=6)


class IntegrationOutput(Camel):
    questions: list[Question] = Field(min_length=2, max_length=3)


class SpacedReviewOutput(Camel):
    reviews: list[Line] = Field(default_factory=list, max_length=8)
    questions: list[Question] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if bool(self.reviews) != bool(self.questions):
            raise ValueError("review questions come with the prerequisites they revisit")
        return self


class AssemblyNotes(Camel):
    """What the assembler's model writes: the lesson's title and description."""

    title: Line
    description: Line


class AssemblerOutput(Camel):
    lesson: Lesson
