"""Phase 1, planning: layout, sections, outcomes, worked example, teaching constraints.

Rules:
- constraints come from ``parse_constraints(mustHaveTopics)``; a specific scope
  narrows the focus concepts to those it names (when it names any);
- two sections when there are two or more focus concepts (split in halves) or
  one concept with related concepts to compare it with; else one;
- a worked example when a focus concept teaches a calculation (and calculations
  are allowed), else when it has a procedure (and how-to is allowed);
- layout: ``focus-mode`` for a worked calculation at the centre, ``split-vis``
  (with a diagram of the concepts side by side) when three or more concepts
  share an attribute to compare, ``linear-flow`` otherwise (and for procedures);
- outcomes: remember (define the terms), understand (explain or compare), apply
  (calculate, carry out, or identify in a scenario, as the constraints allow).
"""

from __future__ import annotations

from collections.abc import Callable

from events.lessons import LessonPhase, MaterialConcept
from services.generation import Family, Gateway, Generated, register
from services.lessons.calculations import teaches_calculation
from services.lessons.constraints import parse_constraints
from services.lessons.contract import DiagramContent, Layout, Outcome, OutcomeLevel
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, ask_model
from services.lessons.phases.models import PlanningOutput, SectionPlan
from services.lessons.text import normalise

__all__ = ["PLANNING", "check", "rules"]

PHASE = LessonPhase.PLANNING


def _names(concepts: list[MaterialConcept]) -> str:
    names = [c.name for c in concepts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _shared_attribute(concepts: list[MaterialConcept]) -> bool:
    """Whether two of the concepts have a fact on the same attribute (a table to draw)."""
    seen: set[str] = set()
    for c in concepts:
        mine = {f.attribute for f in c.facts}
        if mine & seen:
            return True
        seen |= mine
    return False


def _title(topic: str, focus: list[MaterialConcept]) -> str:
    """A topic given as a slug reads as its concept's or cluster's name; free text stays."""
    key = normalise(topic)
    for c in focus:
        if key in (normalise(c.slug), normalise(c.name)):
            return c.name
        if key in (normalise(c.cluster_slug), normalise(c.cluster_name)):
            return c.cluster_name
    return topic


def rules(ctx: PhaseContext) -> PlanningOutput:
    constraints = parse_constraints(ctx.brief.must_have_topics)
    focus, related = constraints.scoped(ctx.material.focus, ctx.material.related)
    if len(focus) >= 2:
        half = (len(focus) + 1) // 2
        groups = [focus[:half], focus[half:]]
        sections = [
            SectionPlan(title=f"{_names(g)}", concepts=[c.slug for c in g], focus="definitions")
            for g in groups
        ]
        sections[1] = sections[1].model_copy(update={"focus": "comparison"})
    elif related:
        c = focus[0]
        sections = [
            SectionPlan(title=f"What {c.name} is", concepts=[c.slug], focus="definitions"),
            SectionPlan(
                title=f"{c.name} beside related ideas", concepts=[c.slug], focus="comparison"
            ),
        ]
    else:
        sections = [SectionPlan(title=focus[0].name, concepts=[focus[0].slug], focus="definitions")]
    kind: str | None = None
    if constraints.allows_calculations and any(teaches_calculation(c) for c in focus):
        kind = "calculation"
    elif constraints.allows_procedures and any(c.procedures for c in focus):
        kind = "procedure"
    shown = [*focus, *related[:3]]
    if kind == "calculation":
        layout = Layout.FOCUS_MODE
    elif kind is None and len(shown) >= 3 and _shared_attribute(shown):
        layout = Layout.SPLIT_VIS
    else:
        layout = Layout.LINEAR_FLOW
    subject = _names(focus)
    outcomes = [
        Outcome(text=f"Define {subject} in your own words", level=OutcomeLevel.REMEMBER),
        Outcome(
            text=(
                f"Explain how {focus[0].name} differs from {related[0].name}"
                if related
                else f"Explain the key properties of {subject}"
            ),
            level=OutcomeLevel.UNDERSTAND,
        ),
    ]
    if kind == "calculation":
        apply = f"Calculate values for {subject} with the formula, showing each step"
    elif kind == "procedure":
        apply = f"Carry out the procedure for {focus[0].name} in the right order"
    else:
        apply = f"Identify {subject} from a description of a real situation"
    outcomes.append(Outcome(text=apply, level=OutcomeLevel.APPLY))
    if len(focus) >= 2 or related:
        outcomes.append(
            Outcome(
                text=f"State the key facts that distinguish {subject} from related ideas",
                level=OutcomeLevel.REMEMBER,
            )
        )
    diagram = None
    if layout is Layout.SPLIT_VIS:
        diagram = DiagramContent(
            title=f"{subject} at a glance",
            description=(
                f"The concepts of this lesson side by side, each with its defining "
                f"property, to compare {subject} with related ideas."
            ),
            elements=[c.name for c in shown[:6]],
        )
    return PlanningOutput(
        title=_title(ctx.brief.topic, ctx.material.focus)[:600],
        layout=layout,
        sections=sections,
        learning_outcomes=outcomes,
        needs_worked_example=kind is not None,
        worked_example_kind=kind,  # type: ignore[arg-type]
        constraints=constraints,
        diagram=diagram,
    )


def check(ctx: PhaseContext) -> Callable[[PlanningOutput], None]:
    known = {c.slug for c in (*ctx.material.focus, *ctx.material.related)}

    def check_plan(plan: PlanningOutput) -> None:
        found = []
        for s in plan.sections:
            unknown = set(s.concepts) - known
            if unknown:
                found.append(f"section {s.title!r} names concepts not in the material: {unknown}")
        if plan.worked_example_kind == "calculation" and not any(
            teaches_calculation(c) for c in ctx.material.focus
        ):
            found.append("no focus concept teaches a calculation: no worked calculation")
        if found:
            raise ValueError("; ".join(found))

    return check_plan


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[PlanningOutput]:
    made = await ask_model(PHASE, ctx, PlanningOutput, gateway, reads=(), check=check(ctx))
    # The author's constraints hold whatever the model parsed: it may add, never drop.
    parsed = parse_constraints(ctx.brief.must_have_topics)
    plan = made.value
    joined = plan.constraints.join(parsed)
    update: dict[str, object] = {"constraints": joined}
    if plan.worked_example_kind == "calculation" and joined.no_calculations:
        update |= {"needs_worked_example": False, "worked_example_kind": None}
    if plan.worked_example_kind == "procedure" and not joined.allows_procedures:
        update |= {"needs_worked_example": False, "worked_example_kind": None}
    fixed = PlanningOutput.model_validate(plan.model_copy(update=update).model_dump())
    return Generated(fixed, made.usage, made.notes)


PLANNING: Family[PhaseContext, PlanningOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-planning")
)
