"""Phase 7, integration: 2-3 sequential synthesis questions that combine parts of the lesson.

Rules: compare two concepts on an attribute both have (values from both
sections), state two facts of one concept together, correct a statement with a
related concept's value in it, and, after a worked calculation, apply the
method to new numbers. Answers come from taught facts, with accepted variants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import combinations

from events.lessons import LessonPhase
from services.generation import Family, Gateway, Generated, register
from services.lessons.calculations import calculations_for
from services.lessons.constraints import question_violations
from services.lessons.contract import (
    AnswerType,
    BlockType,
    CognitiveLevel,
    Question,
    Term,
    question_id,
)
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, PhaseError, ask_model
from services.lessons.phases.checks import facts_in
from services.lessons.phases.models import IntegrationOutput
from services.lessons.phases.questions import (
    FactRef,
    asked,
    correction_question,
    rival_values,
    unique_questions,
)
from services.lessons.phases.vocabulary import planned_concepts
from services.lessons.text import first_sentence, short_variants

__all__ = ["INTEGRATION", "check", "rules"]

PHASE = LessonPhase.INTEGRATION
READS = (LessonPhase.PLANNING, LessonPhase.VOCABULARY, LessonPhase.EXPLANATION)
LEVEL = CognitiveLevel.SYNTHESIS


def _compare(a: FactRef, b: FactRef) -> Question:
    return Question(
        id="draft",
        question_text=(
            f"How do {a.concept.name} and {b.concept.name} differ in their {a.fact.attribute}?"
        ),
        answer_type=AnswerType.SHORT_TEXT,
        expected_answer=short_variants(
            f"{a.concept.name}: {a.fact.value}; {b.concept.name}: {b.fact.value}",
            [f"{a.fact.value} and {b.fact.value}"],
        ),
        hint=f"Find {a.fact.attribute} in both parts of the lesson.",
        cognitive_level=LEVEL,
    )


def _pair(a: FactRef, b: FactRef) -> Question:
    return Question(
        id="draft",
        question_text=f"Answer both parts: (a) {asked(a)} (b) {asked(b)}",
        answer_type=AnswerType.SHORT_TEXT,
        expected_answer=short_variants(
            f"{a.fact.value}; {b.fact.value}", [f"{a.fact.value} and {b.fact.value}"]
        ),
        hint=f"Both facts are in the lesson's paragraphs on {a.concept.name}.",
        cognitive_level=LEVEL,
    )


def _which_of(a: Term, b: Term) -> Question:
    """Tell two taught terms apart by one's definition."""
    meaning = first_sentence(a.definition).rstrip(".")
    return Question(
        id="draft",
        question_text=f"Which of the two, {a.term} or {b.term}, is meant here: {meaning}?",
        answer_type=AnswerType.SHORT_TEXT,
        expected_answer=short_variants(a.term),
        hint=f"Compare the definitions of {a.term} and {b.term} in the vocabulary.",
        cognitive_level=LEVEL,
    )


def _candidates(ctx: PhaseContext) -> Iterator[Question]:
    everyone = [*ctx.material.focus, *ctx.material.related]
    refs = facts_in(ctx.explanation_text(), everyone)
    focus = {c.slug for c in planned_concepts(ctx)}
    compares = [
        _compare(a, b)
        for a, b in combinations(refs, 2)
        if a.fact.attribute == b.fact.attribute
        and a.concept.slug != b.concept.slug
        and a.concept.slug in focus
    ]
    pairs = [
        _pair(a, b)
        for a, b in combinations([r for r in refs if r.concept.slug in focus], 2)
        if a.concept.slug == b.concept.slug
    ]
    corrections = [
        correction_question("draft", r, rivals[-1], level=LEVEL, spot=True)
        for r in reversed(refs)
        if r.concept.slug in focus and (rivals := rival_values(r, everyone))
    ]
    calcs = []
    if ctx.plan.worked_example_kind == "calculation" and ctx.constraints.allows_calculations:
        for c in planned_concepts(ctx):
            for w in calculations_for(c, ctx.seed, count=3)[3:4]:
                calcs.append(
                    Question(
                        id="draft",
                        question_text=f"Using the worked example's method: {w.question}",
                        answer_type=AnswerType.CALCULATION,
                        expected_answer=list(dict.fromkeys([w.answer, *w.variants])),
                        hint=f"Apply {w.formula} step by step.",
                        cognitive_level=LEVEL,
                    )
                )
    terms = list(ctx.vocabulary.terms)
    discriminations = [_which_of(a, b) for a, b in zip(terms, terms[1:] + terms[:1], strict=True)]
    yield from compares[:1]
    yield from pairs[:1]
    yield from corrections[:1]
    yield from calcs[:1]
    yield from compares[1:]
    yield from pairs[1:]
    yield from corrections[1:]
    yield from discriminations


def rules(ctx: PhaseContext) -> IntegrationOutput:
    chosen: list[Question] = []
    for q in unique_questions(_candidates(ctx)):
        if len(chosen) == 3:
            break
        if not ctx.uses_only_taught(q.question_text) or question_violations(q, ctx.constraints):
            continue
        qid = question_id(ctx.brief.lesson_id, BlockType.INTEGRATIVE, len(chosen) + 1)
        chosen.append(q.model_copy(update={"id": qid}))
    if len(chosen) < 2:
        raise PhaseError(PHASE, "the lesson teaches too few combinable facts for integration")
    return IntegrationOutput(questions=chosen)


def check(ctx: PhaseContext) -> Callable[[IntegrationOutput], None]:
    def check_integration(out: IntegrationOutput) -> None:
        found = []
        for i, q in enumerate(out.questions):
            if not ctx.uses_only_taught(q.question_text):
                found.append(f"questions[{i}] uses untaught terms")
            found += [f"questions[{i}]: {v}" for v in question_violations(q, ctx.constraints)]
        if found:
            raise ValueError("; ".join(found[:10]))

    return check_integration


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[IntegrationOutput]:
    return await ask_model(PHASE, ctx, IntegrationOutput, gateway, reads=READS, check=check(ctx))


INTEGRATION: Family[PhaseContext, IntegrationOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-integration")
)
