"""The lesson contract: blocks, questions, their ids and the contract ordering.

A lesson is a list of typed blocks, each with an ``order`` fixed by its type
(the seed's contract, not the order phases ran in):

    1 outcomes, 2 vocab, 3 diagram, 4 explanation 1, 4.5 check 1,
    5 explanation 2, 5.5 check 2, 6 worked example, 8 practice,
    9.5 integrative, 10 spaced review (always last)

Optional blocks (diagram, the second explanation and its check, the worked
example, spaced review) are left out without moving the others. JSON uses the
seed's camelCase names (``expectedAnswer``, ``answerType``), so the JSON paths in
scoring suggestions (``blocks[4].content.questions[0].expectedAnswer``) name
fields as a reader of the lesson sees them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "ANSWER_TYPES",
    "AnswerType",
    "Block",
    "BlockType",
    "CheckBlock",
    "CognitiveLevel",
    "DiagramBlock",
    "ExplanationBlock",
    "IntegrativeBlock",
    "Layout",
    "Lesson",
    "LessonMeta",
    "Outcome",
    "OutcomeLevel",
    "OutcomesBlock",
    "PracticeBlock",
    "Question",
    "SpacedReviewBlock",
    "Term",
    "VocabBlock",
    "WorkedExampleBlock",
    "WorkedStep",
    "block_id",
    "contract_order",
    "diagram_reference",
    "lesson_json",
    "parse_lesson",
    "question_id",
]


class Camel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Layout(StrEnum):
    SPLIT_VIS = "split-vis"  # needs a diagram beside the text
    LINEAR_FLOW = "linear-flow"
    FOCUS_MODE = "focus-mode"  # one worked procedure or calculation at the centre


class AnswerType(StrEnum):
    SHORT_TEXT = "short-text"
    MULTIPLE_CHOICE = "multiple-choice"
    CALCULATION = "calculation"
    TRUE_FALSE = "true-false"


ANSWER_TYPES = frozenset(a.value for a in AnswerType)


class CognitiveLevel(StrEnum):
    RECALL = "recall"
    CONNECTION = "connection"
    APPLICATION = "application"
    SYNTHESIS = "synthesis"


class OutcomeLevel(StrEnum):
    REMEMBER = "remember"
    UNDERSTAND = "understand"
    APPLY = "apply"


class BlockType(StrEnum):
    OUTCOMES = "outcomes"
    VOCAB = "vocab"
    DIAGRAM = "diagram"
    EXPLANATION = "explanation"
    CHECK = "understanding-check"
    WORKED_EXAMPLE = "worked-example"
    PRACTICE = "practice"
    INTEGRATIVE = "integrative"
    SPACED_REVIEW = "spaced-review"


Text = Annotated[str, Field(min_length=1, max_length=8000)]
Line = Annotated[str, Field(min_length=1, max_length=600)]


class Question(Camel):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    question_text: Line
    answer_type: AnswerType
    expected_answer: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        min_length=1, max_length=8, description="accepted answers, the preferred one first"
    )
    options: list[Line] | None = Field(default=None, min_length=2, max_length=6)
    hint: Line | None = None
    cognitive_level: CognitiveLevel | None = None


class Outcome(Camel):
    text: Line
    level: OutcomeLevel


class Term(Camel):
    term: Annotated[str, Field(min_length=1, max_length=120)]
    definition: Line


class WorkedStep(Camel):
    step_number: int = Field(ge=1, le=20)
    description: Line
    working: Line | None = None
    result: Line | None = None


class OutcomesContent(Camel):
    outcomes: list[Outcome] = Field(min_length=1, max_length=8)


class VocabContent(Camel):
    terms: list[Term] = Field(min_length=1, max_length=12)


class DiagramContent(Camel):
    title: Line
    description: Line
    elements: list[Line] = Field(min_length=1, max_length=12)


class ExplanationContent(Camel):
    title: Line
    content: Text


class QuestionsContent(Camel):
    title: Line
    questions: list[Question] = Field(min_length=1, max_length=12)


class WorkedExampleContent(Camel):
    title: Line
    kind: Literal["calculation", "procedure"]
    given: Line
    steps: list[WorkedStep] = Field(min_length=1, max_length=20)
    final_answer: Line


class SpacedReviewContent(Camel):
    title: Line
    reviews: list[Line] = Field(min_length=1, max_length=8, description="the prerequisites")
    questions: list[Question] = Field(min_length=1, max_length=12)


class _Block(Camel):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    order: float = Field(ge=0, le=20)


class OutcomesBlock(_Block):
    type: Literal[BlockType.OUTCOMES] = BlockType.OUTCOMES
    content: OutcomesContent


class VocabBlock(_Block):
    type: Literal[BlockType.VOCAB] = BlockType.VOCAB
    content: VocabContent


class DiagramBlock(_Block):
    type: Literal[BlockType.DIAGRAM] = BlockType.DIAGRAM
    content: DiagramContent


class ExplanationBlock(_Block):
    type: Literal[BlockType.EXPLANATION] = BlockType.EXPLANATION
    content: ExplanationContent


class CheckBlock(_Block):
    type: Literal[BlockType.CHECK] = BlockType.CHECK
    content: QuestionsContent


class WorkedExampleBlock(_Block):
    type: Literal[BlockType.WORKED_EXAMPLE] = BlockType.WORKED_EXAMPLE
    content: WorkedExampleContent


class PracticeBlock(_Block):
    type: Literal[BlockType.PRACTICE] = BlockType.PRACTICE
    content: QuestionsContent


class IntegrativeBlock(_Block):
    type: Literal[BlockType.INTEGRATIVE] = BlockType.INTEGRATIVE
    content: QuestionsContent


class SpacedReviewBlock(_Block):
    type: Literal[BlockType.SPACED_REVIEW] = BlockType.SPACED_REVIEW
    content: SpacedReviewContent


Block = Annotated[
    OutcomesBlock
    | VocabBlock
    | DiagramBlock
    | ExplanationBlock
    | CheckBlock
    | WorkedExampleBlock
    | PracticeBlock
    | IntegrativeBlock
    | SpacedReviewBlock,
    Field(discriminator="type"),
]


class LessonMeta(Camel):
    pack: Annotated[str, Field(min_length=1, max_length=64)]
    strategy: Annotated[str, Field(min_length=1, max_length=40)]
    concepts: list[str] = Field(default_factory=list, max_length=20)
    must_have_topics: list[str] = Field(default_factory=list, max_length=12)


class Lesson(Camel):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    title: Line
    description: Line
    layout: Layout
    unit: Annotated[str, Field(min_length=1, max_length=200)]
    topic: Annotated[str, Field(min_length=1, max_length=200)]
    section: Annotated[str, Field(min_length=1, max_length=200)]
    prerequisites: list[str] = Field(default_factory=list, max_length=8)
    blocks: list[Block] = Field(min_length=1, max_length=16)
    metadata: LessonMeta

    def of_type(self, kind: BlockType) -> list[Any]:
        return [b for b in self.blocks if b.type == kind]


# the contract ---------------------------------------------------------------------------
_ORDERS: dict[BlockType, tuple[float, ...]] = {
    BlockType.OUTCOMES: (1,),
    BlockType.VOCAB: (2,),
    BlockType.DIAGRAM: (3,),
    BlockType.EXPLANATION: (4, 5),
    BlockType.CHECK: (4.5, 5.5),
    BlockType.WORKED_EXAMPLE: (6,),
    BlockType.PRACTICE: (8,),
    BlockType.INTEGRATIVE: (9.5,),
    BlockType.SPACED_REVIEW: (10,),
}

_ID_SUFFIX: dict[BlockType, str] = {
    BlockType.OUTCOMES: "outcomes",
    BlockType.VOCAB: "vocab",
    BlockType.DIAGRAM: "diagram",
    BlockType.EXPLANATION: "explain-{n}",
    BlockType.CHECK: "check-{n}",
    BlockType.WORKED_EXAMPLE: "worked-example",
    BlockType.PRACTICE: "practice",
    BlockType.INTEGRATIVE: "integrative",
    BlockType.SPACED_REVIEW: "spaced-review",
}

_QUESTION_ID: dict[BlockType, str] = {
    BlockType.CHECK: "C{n}-L{k}",
    BlockType.PRACTICE: "P{k}",
    BlockType.INTEGRATIVE: "INT-{k}",
    BlockType.SPACED_REVIEW: "SR-{k}",
}


def contract_order(kind: BlockType, n: int = 1) -> float:
    """The order of the ``n``-th block of a type (explanations and checks: 1 or 2)."""
    orders = _ORDERS[kind]
    if not 1 <= n <= len(orders):
        raise ValueError(f"a lesson has at most {len(orders)} {kind.value} block(s)")
    return orders[n - 1]


def block_id(lesson_id: str, kind: BlockType, n: int = 1) -> str:
    return f"{lesson_id}-{_ID_SUFFIX[kind].format(n=n)}"


def question_id(lesson_id: str, kind: BlockType, k: int, n: int = 1) -> str:
    """The id of question ``k`` (from 1) of the ``n``-th block of ``kind``."""
    return f"{lesson_id}-{_QUESTION_ID[kind].format(n=n, k=k)}"


def diagram_reference(elements: list[str]) -> str:
    """The sentence that points a split-vis lesson's text at its diagram."""
    named = elements[0] if len(elements) == 1 else ", ".join(elements[:-1]) + f" and {elements[-1]}"
    return f"The diagram beside this text sets {named} side by side; use it to compare them."


def lesson_json(lesson: Lesson) -> dict[str, Any]:
    """The lesson as JSON, in the seed's camelCase, absent optional fields left out."""
    data: dict[str, Any] = lesson.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def parse_lesson(data: object) -> Lesson:
    return Lesson.model_validate(data)
