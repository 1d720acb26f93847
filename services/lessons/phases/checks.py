"""Phase 4, understanding checks: 2-4 questions after each explanation section.

Sequential questions, recall -> connection -> application: a fact's value, the
term a definition describes, and spotting a related concept's value swapped
into a statement. Every expected answer appears in the section it follows, and
every question uses only vocabulary the lesson has taught.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from events.lessons import LessonPhase, MaterialConcept
from services.generation import Family, Gateway, Generated, register
from services.lessons.constraints import question_violations
from services.lessons.contract import BlockType, CognitiveLevel, Question, question_id
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, PhaseError, ask_model
from services.lessons.phases.models import CheckSet, UnderstandingChecksOutput
from services.lessons.phases.questions import (
    FactRef,
    correction_question,
    recall_question,
    rival_values,
    term_question,
    unique_questions,
)
from services.lessons.text import appears_in, normalise

__all__ = ["UNDERSTANDING_CHECKS", "check", "rules"]

PHASE = LessonPhase.UNDERSTANDING_CHECKS
READS = (LessonPhase.PLANNING, LessonPhase.VOCABULARY, LessonPhase.EXPLANATION)


def facts_in(text: str, concepts: list[MaterialConcept]) -> list[FactRef]:
    """Facts whose statement the text teaches (value and statement both present)."""
    return [
        FactRef(c, f)
        for c in concepts
        for f in c.facts
        if appears_in(f.value, text) and appears_in(f.statement.rstrip("."), text)
    ]


def _section(ctx: PhaseContext, n: int, text: str, asked: set[str]) -> list[Question]:
    everyone = [*ctx.material.focus, *ctx.material.related]
    refs = facts_in(text, everyone)
    terms = [t for t in ctx.vocabulary.terms if appears_in(t.term, text)]

    def qid(k: int) -> str:
        return question_id(ctx.brief.lesson_id, BlockType.CHECK, k, n)

    def candidates() -> Iterator[Question]:
        recalls = [recall_question("draft", r, level=CognitiveLevel.RECALL) for r in refs]
        connections = [term_question("draft", t, level=CognitiveLevel.CONNECTION) for t in terms]
        applications = []
        for r in refs:
            rivals = rival_values(r, everyone)
            if rivals:
                applications.append(
                    correction_question("draft", r, rivals[0], level=CognitiveLevel.APPLICATION)
                )
        yield from recalls[:1]
        yield from connections[:1]
        yield from applications[:1]
        yield from recalls[1:2]
        yield from connections[1:]
        yield from recalls[2:]
        yield from applications[1:]

    chosen: list[Question] = []
    for q in unique_questions(candidates()):
        if len(chosen) == 4:
            break
        if normalise(q.question_text) in asked:
            continue  # an earlier section asked it
        if not appears_in(q.expected_answer[0], text) or not ctx.uses_only_taught(q.question_text):
            continue
        if question_violations(q, ctx.constraints):
            continue
        chosen.append(q.model_copy(update={"id": qid(len(chosen) + 1)}))
    if len(chosen) < 2:
        raise PhaseError(PHASE, f"section {n} teaches too little for two checks")
    asked.update(normalise(q.question_text) for q in chosen)
    return chosen


def rules(ctx: PhaseContext) -> UnderstandingChecksOutput:
    asked: set[str] = set()
    return UnderstandingChecksOutput(
        checks=[
            CheckSet(section=n, questions=_section(ctx, n, s.content, asked))
            for n, s in enumerate(ctx.explanation.sections, start=1)
        ]
    )


def check(ctx: PhaseContext) -> Callable[[UnderstandingChecksOutput], None]:
    def check_checks(out: UnderstandingChecksOutput) -> None:
        sections = ctx.explanation.sections
        found = []
        if len(out.checks) != len(sections):
            found.append(f"write one check set for each of the {len(sections)} section(s)")
        for c in out.checks:
            if c.section > len(sections):
                continue
            text = sections[c.section - 1].content
            for i, q in enumerate(c.questions):
                if not appears_in(q.expected_answer[0], text):
                    found.append(
                        f"checks[{c.section - 1}].questions[{i}]: expectedAnswer "
                        f"{q.expected_answer[0]!r} does not appear in section {c.section}"
                    )
                if not ctx.uses_only_taught(q.question_text):
                    found.append(f"checks[{c.section - 1}].questions[{i}] uses untaught terms")
                found += question_violations(q, ctx.constraints)
        if found:
            raise ValueError("; ".join(found[:10]))

    return check_checks


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[UnderstandingChecksOutput]:
    return await ask_model(
        PHASE, ctx, UnderstandingChecksOutput, gateway, reads=READS, check=check(ctx)
    )


UNDERSTANDING_CHECKS: Family[PhaseContext, UnderstandingChecksOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-understanding-checks")
)
