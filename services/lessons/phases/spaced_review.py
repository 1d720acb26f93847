"""Phase 8, spaced review: questions that revisit the prerequisites (empty without any).

Rules: for each prerequisite concept, in order, a recall of one of its facts and
the term its definition describes, at most four questions in all. These may use
the prerequisites' own vocabulary: it was taught in the earlier lessons.
"""

from __future__ import annotations

from collections.abc import Callable

from events.lessons import LessonPhase
from services.generation import Family, Gateway, Generated, register
from services.lessons.constraints import question_violations
from services.lessons.contract import (
    AnswerType,
    BlockType,
    CognitiveLevel,
    Question,
    Term,
    question_id,
)
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, ask_model
from services.lessons.phases.models import SpacedReviewOutput
from services.lessons.phases.questions import FactRef, recall_question, unique_questions
from services.lessons.phases.vocabulary import definition_of
from services.lessons.text import first_sentence, lower_first, short_variants

__all__ = ["SPACED_REVIEW", "check", "rules"]

PHASE = LessonPhase.SPACED_REVIEW
MAX_QUESTIONS = 4


def _review_term(term: Term) -> Question:
    meaning = first_sentence(term.definition).rstrip(".")
    return Question(
        id="draft",
        question_text=f"From an earlier lesson: which concept is {lower_first(meaning)}?",
        answer_type=AnswerType.SHORT_TEXT,
        expected_answer=short_variants(term.term),
        hint="Think back to the lessons this one builds on.",
        cognitive_level=CognitiveLevel.RECALL,
    )


def rules(ctx: PhaseContext) -> SpacedReviewOutput:
    prereqs = ctx.material.prerequisites
    if not prereqs:
        return SpacedReviewOutput()
    pool: list[Question] = []
    for c in prereqs:
        if c.facts:
            pool.append(
                recall_question("draft", FactRef(c, c.facts[0]), level=CognitiveLevel.RECALL)
            )
        pool.append(_review_term(Term(term=c.name, definition=definition_of(c))))
    chosen: list[Question] = []
    for q in unique_questions(pool):
        if question_violations(q, ctx.constraints) or len(chosen) == MAX_QUESTIONS:
            continue
        qid = question_id(ctx.brief.lesson_id, BlockType.SPACED_REVIEW, len(chosen) + 1)
        chosen.append(q.model_copy(update={"id": qid}))
    if not chosen:
        return SpacedReviewOutput()
    return SpacedReviewOutput(reviews=[c.name for c in prereqs], questions=chosen)


def check(ctx: PhaseContext) -> Callable[[SpacedReviewOutput], None]:
    names = {c.name for c in ctx.material.prerequisites}

    def check_review(out: SpacedReviewOutput) -> None:
        if not names and out.questions:
            raise ValueError("there are no prerequisites: return no review questions")
        unknown = set(out.reviews) - names
        if unknown:
            raise ValueError(f"review only the prerequisites {sorted(names)}, not {unknown}")

    return check_review


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[SpacedReviewOutput]:
    return await ask_model(
        PHASE, ctx, SpacedReviewOutput, gateway, reads=(LessonPhase.PLANNING,), check=check(ctx)
    )


SPACED_REVIEW: Family[PhaseContext, SpacedReviewOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-spaced-review")
)
