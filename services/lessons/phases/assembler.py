"""Phase 9, assembler: phases 1-8 into one lesson in contract order, then normalisation.

Blocks: outcomes (1), vocabulary (2), the diagram of a split-vis layout (3),
explanation 1 (4) and its check (4.5), explanation 2 (5) and its check (5.5),
the worked example (6), practice (8), integration (9.5) and spaced review (10)
whichever optional blocks exist. The title and description are the only
written part: rules derive them from the plan, the llm strategy asks a model.
"""

from __future__ import annotations

from typing import Any

from events.lessons import LessonPhase
from services.generation import Family, Gateway, Generated, register
from services.lessons.contract import (
    BlockType,
    Lesson,
    LessonMeta,
    block_id,
    contract_order,
    parse_lesson,
)
from services.lessons.normalize import normalise_lesson
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, ask_model
from services.lessons.phases.models import AssemblerOutput, AssemblyNotes
from services.lessons.phases.vocabulary import planned_concepts
from services.lessons.text import lower_first

__all__ = ["ASSEMBLER", "assemble", "rules", "rules_notes"]

PHASE = LessonPhase.ASSEMBLER
READS = tuple(p for p in LessonPhase if p not in (LessonPhase.ASSEMBLER, LessonPhase.REWRITE))


def _block(lid: str, kind: BlockType, content: Any, n: int = 1) -> dict[str, Any]:
    dumped = content if isinstance(content, dict) else content.model_dump(by_alias=True)
    return {
        "id": block_id(lid, kind, n),
        "type": kind.value,
        "order": contract_order(kind, n),
        "content": dumped,
    }


def _questions(out: Any) -> list[dict[str, Any]]:
    return [q.model_dump(mode="json", by_alias=True, exclude_none=True) for q in out]


def assemble(ctx: PhaseContext, notes: AssemblyNotes) -> Lesson:
    lid, plan = ctx.brief.lesson_id, ctx.plan
    blocks = [
        _block(
            lid, BlockType.OUTCOMES, {"outcomes": [o.model_dump() for o in plan.learning_outcomes]}
        ),
        _block(lid, BlockType.VOCAB, {"terms": [t.model_dump() for t in ctx.vocabulary.terms]}),
    ]
    if plan.diagram is not None:
        blocks.append(_block(lid, BlockType.DIAGRAM, plan.diagram))
    checks = {c.section: c for c in ctx.checks.checks}
    for n, section in enumerate(ctx.explanation.sections, start=1):
        blocks.append(_block(lid, BlockType.EXPLANATION, section, n))
        if n in checks:
            content = {
                "title": f"Check: {section.title}",
                "questions": _questions(checks[n].questions),
            }
            blocks.append(_block(lid, BlockType.CHECK, content, n))
    if ctx.worked_example is not None:
        blocks.append(_block(lid, BlockType.WORKED_EXAMPLE, ctx.worked_example))
    blocks.append(
        _block(
            lid,
            BlockType.PRACTICE,
            {"title": "Practice", "questions": _questions(ctx.practice.questions)},
        )
    )
    blocks.append(
        _block(
            lid,
            BlockType.INTEGRATIVE,
            {"title": "Putting it together", "questions": _questions(ctx.integration.questions)},
        )
    )
    review = ctx.spaced_review
    if review.questions:
        content = {
            "title": "Spaced review",
            "reviews": review.reviews,
            "questions": _questions(review.questions),
        }
        blocks.append(_block(lid, BlockType.SPACED_REVIEW, content))
    b = ctx.brief
    raw = {
        "id": lid,
        "title": notes.title,
        "description": notes.description,
        "layout": plan.layout.value,
        "unit": b.unit,
        "topic": b.topic,
        "section": b.section,
        "prerequisites": [c.name for c in ctx.material.prerequisites] or list(b.prerequisites),
        "blocks": blocks,
        "metadata": LessonMeta(
            pack=b.pack,
            strategy=b.strategy,
            concepts=[c.slug for c in planned_concepts(ctx)],
            must_have_topics=list(b.must_have_topics),
        ).model_dump(by_alias=True),
    }
    return parse_lesson(normalise_lesson(parse_lesson(raw).model_dump(mode="json", by_alias=True)))


def rules_notes(ctx: PhaseContext) -> AssemblyNotes:
    plan = ctx.plan
    aims = "; ".join(lower_first(o.text) for o in plan.learning_outcomes[:3])
    return AssemblyNotes(
        title=plan.title,
        description=f"In this lesson you will {aims}."[:600],
    )


def rules(ctx: PhaseContext) -> AssemblerOutput:
    return AssemblerOutput(lesson=assemble(ctx, rules_notes(ctx)))


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[AssemblerOutput]:
    made = await ask_model(PHASE, ctx, AssemblyNotes, gateway, reads=(LessonPhase.PLANNING,))
    return Generated(AssemblerOutput(lesson=assemble(ctx, made.value)), made.usage, made.notes)


ASSEMBLER: Family[PhaseContext, AssemblerOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-assembler")
)
