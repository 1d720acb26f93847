"""Phase 6, practice: 4-6 independent questions of varied types, answerable from the lesson.

Multiple choice (a concept's value among related concepts' values for the same
attribute, or a term among the vocabulary), true/false (a taught statement
verbatim, or with a related value swapped in), short recall, and, after a
worked calculation, a new calculation computed exactly. Only taught facts and
vocabulary; nothing the teaching constraints exclude.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from events.lessons import LessonPhase
from services.generation import Family, Gateway, Generated, register
from services.lessons.calculations import calculations_for
from services.lessons.constraints import question_violations
from services.lessons.contract import AnswerType, BlockType, CognitiveLevel, Question, question_id
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, PhaseError, ask_model
from services.lessons.phases.checks import facts_in
from services.lessons.phases.models import PracticeOutput
from services.lessons.phases.questions import (
    calculation_question,
    mcq_question,
    recall_question,
    rival_values,
    term_mcq,
    term_question,
    true_false_question,
    unique_questions,
)
from services.lessons.phases.vocabulary import planned_concepts

__all__ = ["PRACTICE", "check", "rules"]

PHASE = LessonPhase.PRACTICE
READS = (
    LessonPhase.PLANNING,
    LessonPhase.VOCABULARY,
    LessonPhase.EXPLANATION,
    LessonPhase.WORKED_EXAMPLE,
)
TARGET = 5


def _candidates(ctx: PhaseContext) -> Iterator[Question]:
    rng = random.Random(f"{ctx.seed}:practice")
    everyone = [*ctx.material.focus, *ctx.material.related]
    focus = {c.slug for c in planned_concepts(ctx)}
    refs = [r for r in facts_in(ctx.explanation_text(), everyone) if r.concept.slug in focus]
    terms = list(ctx.vocabulary.terms)
    mcqs = [q for r in refs if (q := mcq_question("draft", r, rival_values(r, everyone), rng))]
    trues = [true_false_question("draft", r, None) for r in refs]
    falses = [
        true_false_question("draft", r, rivals[0])
        for r in refs
        if (rivals := rival_values(r, everyone))
    ]
    recalls = [
        recall_question("draft", r, level=CognitiveLevel.RECALL, prefix="Practice: ")
        for r in reversed(refs)
    ]
    calcs = []
    if ctx.plan.worked_example_kind == "calculation" and ctx.constraints.allows_calculations:
        for c in planned_concepts(ctx):
            calcs += [calculation_question("draft", w) for w in calculations_for(c, ctx.seed)[1:3]]
    term_mcqs = [q for t in terms if (q := term_mcq("draft", t, terms, rng))]
    term_recalls = [
        term_question("draft", t, level=CognitiveLevel.RECALL, stem="Name the term for")
        for t in terms
    ]
    yield from mcqs[:1]
    yield from trues[:1]
    yield from calcs[:1]
    yield from falses[:1]
    yield from recalls[:1]
    yield from term_mcqs[:1]
    yield from calcs[1:2]
    yield from mcqs[1:]
    yield from recalls[1:]
    yield from term_recalls
    yield from term_mcqs[1:]


def rules(ctx: PhaseContext) -> PracticeOutput:
    chosen: list[Question] = []
    for q in unique_questions(_candidates(ctx)):
        if len(chosen) == TARGET:
            break
        if not ctx.uses_only_taught(q.question_text) or question_violations(q, ctx.constraints):
            continue
        k = len(chosen) + 1
        chosen.append(
            q.model_copy(update={"id": question_id(ctx.brief.lesson_id, BlockType.PRACTICE, k)})
        )
    if len(chosen) < 4:
        raise PhaseError(PHASE, f"only {len(chosen)} practice questions; 4 are needed")
    return PracticeOutput(questions=chosen)


def check(ctx: PhaseContext) -> Callable[[PracticeOutput], None]:
    def check_practice(out: PracticeOutput) -> None:
        found = []
        kinds = {q.answer_type for q in out.questions}
        if len(kinds) < 2:
            found.append("vary the question types")
        for i, q in enumerate(out.questions):
            if not ctx.uses_only_taught(q.question_text):
                found.append(f"questions[{i}] uses untaught terms")
            if q.answer_type is AnswerType.MULTIPLE_CHOICE and (
                not q.options or q.expected_answer[0] not in q.options
            ):
                found.append(f"questions[{i}]: the answer must be one of the options")
            found += [f"questions[{i}]: {v}" for v in question_violations(q, ctx.constraints)]
        if found:
            raise ValueError("; ".join(found[:10]))

    return check_practice


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[PracticeOutput]:
    return await ask_model(PHASE, ctx, PracticeOutput, gateway, reads=READS, check=check(ctx))


PRACTICE: Family[PhaseContext, PracticeOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-practice")
)
