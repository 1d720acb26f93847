"""Phase 5, worked example: only when planning asked for one (the saga skips it otherwise).

A calculation is computed exactly (``calculations.calculations_for``) and shown
step by step; the llm strategy gets the computed result and must state it. A
procedure is the pack's own steps in order, each explained.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.lessons import LessonPhase
from services.generation import Family, Gateway, Generated, register
from services.lessons.calculations import WorkedCalculation, calculations_for
from services.lessons.contract import WorkedStep
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, PhaseError, ask_model
from services.lessons.phases.models import WorkedExampleOutput
from services.lessons.phases.vocabulary import planned_concepts
from services.lessons.text import appears_in, lower_first, sentence

__all__ = ["WORKED_EXAMPLE", "check", "chosen_calculation", "rules"]

PHASE = LessonPhase.WORKED_EXAMPLE
READS = (LessonPhase.PLANNING, LessonPhase.VOCABULARY)


def chosen_calculation(ctx: PhaseContext) -> WorkedCalculation | None:
    for c in planned_concepts(ctx):
        found = calculations_for(c, ctx.seed, count=1)
        if found:
            return found[0]
    return None


def _calculation(ctx: PhaseContext) -> WorkedExampleOutput:
    calc = chosen_calculation(ctx)
    if calc is None:
        raise PhaseError(PHASE, "planning asked for a calculation no focus concept teaches")
    return WorkedExampleOutput(
        title=calc.title,
        kind="calculation",
        given=calc.given,
        steps=[
            WorkedStep(step_number=i, description=d, working=w, result=r)
            for i, (d, w, r) in enumerate(calc.steps, start=1)
        ],
        final_answer=calc.answer,
    )


def _procedure(ctx: PhaseContext) -> WorkedExampleOutput:
    for c in planned_concepts(ctx):
        for p in c.procedures:
            commands = p.kind == "commands"
            steps = [
                WorkedStep(
                    step_number=i,
                    description=f"Enter `{s}`" if commands else sentence(s),
                    working=s if commands else None,
                )
                for i, s in enumerate(p.steps, start=1)
            ]
            return WorkedExampleOutput(
                title=f"Worked example: {lower_first(p.name)}",
                kind="procedure",
                given=sentence(f"Task: {lower_first(p.name)} ({c.name})"),
                steps=steps,
                final_answer=sentence(
                    f"After step {len(p.steps)} ({p.steps[-1]}), {lower_first(p.name)} is done"
                ),
            )
    raise PhaseError(PHASE, "planning asked for a procedure no focus concept has")


def rules(ctx: PhaseContext) -> WorkedExampleOutput:
    kind = ctx.plan.worked_example_kind
    if kind == "calculation":
        return _calculation(ctx)
    if kind == "procedure":
        return _procedure(ctx)
    raise PhaseError(PHASE, "planning decided no worked example is needed")


def check(ctx: PhaseContext) -> Callable[[WorkedExampleOutput], None]:
    expected = rules(ctx)

    def check_example(out: WorkedExampleOutput) -> None:
        if out.kind != expected.kind:
            raise ValueError(f"the plan asks for a {expected.kind} worked example")
        if out.kind == "calculation" and not appears_in(expected.final_answer, out.final_answer):
            raise ValueError(
                f"finalAnswer must state the exact result {expected.final_answer!r} "
                "(computed for you in the data)"
            )
        if out.kind == "procedure":
            text = " ".join(f"{s.description} {s.working or ''}" for s in out.steps)
            missing = [
                s.working or s.description
                for s in expected.steps
                if not appears_in((s.working or s.description).rstrip("."), text)
            ]
            if missing:
                raise ValueError(f"show every step of the procedure; missing {missing[:3]}")

    return check_example


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[WorkedExampleOutput]:
    reference: dict[str, Any] = rules(ctx).model_dump(mode="json", by_alias=True)
    return await ask_model(
        PHASE, ctx, WorkedExampleOutput, gateway, reads=READS, check=check(ctx), computed=reference
    )


WORKED_EXAMPLE: Family[PhaseContext, WorkedExampleOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-worked-example")
)
