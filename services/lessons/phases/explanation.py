"""Phase 3, explanation: 400-600 words of teaching, one text per planned section.

Rules build each section from the material in priority tiers and stop adding
once the lesson is long enough (about 480 words) or the next item would pass
600: definitions of the section's concepts, every vocabulary term, the safety
note where the topic needs one and the formula of a planned calculation come
first; then the focus concepts' facts (verbatim, so answers are in the text),
their procedures (when how-to is allowed), related concepts and how they
compare, their other facts, and a short recap. Anything breaking a teaching
constraint or outside a specific scope is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from events.lessons import LessonPhase, MaterialConcept
from services.generation import Family, Gateway, Generated, register
from services.lessons.calculations import calculations_for, teaches_calculation
from services.lessons.constraints import text_violations
from services.lessons.contract import diagram_reference
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, PhaseError, ask_model
from services.lessons.phases.models import ExplanationOutput, ExplanationSection
from services.lessons.phases.vocabulary import (
    compared_concepts,
    definition_of,
    planned_concepts,
    scoped_related,
)
from services.lessons.safety import SAFETY_NOTE, has_safety_note, safety_relevant
from services.lessons.text import appears_in, lower_first, word_count

__all__ = ["EXPLANATION", "MAX_WORDS", "MIN_WORDS", "check", "rules"]

PHASE = LessonPhase.EXPLANATION
MIN_WORDS, MAX_WORDS, COMFORTABLE = 400, 600, 480


@dataclass(frozen=True, slots=True)
class _Item:
    section: int
    tier: int
    paragraph: str
    text: str


def _is(c: MaterialConcept) -> str:
    """The concept introduced by its definition, as one sentence, its name in bold."""
    definition = definition_of(c)
    named = re.search(re.escape(c.name), definition, re.IGNORECASE)
    if named is not None and named.start() <= 30:  # "The resistance of a conductor rises ..."
        start, end = named.span()
        return f"{definition[:start]}**{definition[start:end]}**{definition[end:]}"
    if definition.split(" ", 1)[0] in ("A", "An", "The"):
        return f"**{c.name}** is {lower_first(definition)}"
    return f"**{c.name}**: {definition}"


def _procedure(c: MaterialConcept) -> list[str]:
    out = []
    for p in c.procedures:
        steps = [f"`{s}`" if p.kind == "commands" else lower_first(s.rstrip(".")) for s in p.steps]
        body = ", then ".join(steps[:-1]) + f", and finally {steps[-1]}"
        out.append(f"To {lower_first(p.name.rstrip('.'))}: {body}.")
    return out


def _side_by_side(focus: list[MaterialConcept], others: list[MaterialConcept]) -> list[str]:
    """One sentence per attribute the focus concepts share with the compared ones."""
    out: list[str] = []
    for c in focus:
        for f in c.facts:
            values = [
                (o.name, g.value) for o in others for g in o.facts if g.attribute == f.attribute
            ]
            if values:
                listed = "; ".join(
                    f"{name} {value}" for name, value in [(c.name, f.value), *values]
                )
                lead = "Side by side on" if not out else "On"
                out.append(f"{lead} {f.attribute}: {listed}.")
    return out


def _items(ctx: PhaseContext) -> list[_Item]:
    plan, constraints = ctx.plan, ctx.constraints
    last = len(plan.sections)
    items: list[_Item] = []
    introduced: set[str] = set()
    for n, section in enumerate(plan.sections, start=1):
        concepts = [ctx.concept(s) for s in section.concepts]
        comparison = section.focus == "comparison" and n > 1
        for c in concepts:
            if c.slug not in introduced:
                items.append(_Item(n, 0, "intro", _is(c)))
                introduced.add(c.slug)
            if comparison and plan.sections[0].concepts == [c.slug]:
                continue  # one concept, second section: its comparisons carry the section
            for i, f in enumerate(c.facts):
                items.append(_Item(n, 1 if i < 4 else 3, "facts", f.statement))
            if constraints.allows_calculations and teaches_calculation(c):
                for calc in calculations_for(c, ctx.seed, count=1)[:1]:
                    items.append(_Item(n, 0, "formula", f"The key relationship is {calc.formula}."))
            if constraints.allows_procedures:
                items += [_Item(n, 2, "procedure", t) for t in _procedure(c)]
    focus = planned_concepts(ctx)
    compared = compared_concepts(ctx)
    for r in compared:
        key = f"related:{r.slug}"
        items.append(_Item(last, 0, key, _is(r)))
        shared = {f.attribute for c in focus for f in c.facts}
        for f in r.facts:
            items.append(_Item(last, 5 if f.attribute in shared else 6, key, f.statement))
    items += [_Item(last, 4, "compare", t) for t in _side_by_side(focus, compared)]
    # Thin topics: the other related concepts, briefly, after everything else.
    for r in scoped_related(ctx):
        if r not in compared:
            key = f"related:{r.slug}"
            items.append(_Item(last, 7, key, _is(r)))
            items += [_Item(last, 8, key, f.statement) for f in r.facts[:2]]
    return [i for i in items if not text_violations(i.text, constraints)]


def _render(chosen: list[_Item], candidates: list[_Item], sections: int) -> list[str]:
    """Sections of paragraphs, paragraphs in the order their first item was planned."""
    keys = list(dict.fromkeys(i.paragraph for i in candidates))
    picked = {id(i) for i in chosen}  # identity: equal items may repeat in the material
    texts = []
    for n in range(1, sections + 1):
        paragraphs = []
        for key in keys:
            lines = [
                i.text
                for i in candidates
                if id(i) in picked and i.section == n and i.paragraph == key
            ]
            if lines:
                paragraphs.append(" ".join(lines) if key != "procedure" else "\n\n".join(lines))
        texts.append("\n\n".join(paragraphs))
    return texts


def _compose(ctx: PhaseContext, chosen: list[_Item], candidates: list[_Item]) -> list[str]:
    """The sections' texts, with every vocabulary term used and the safety note if needed."""
    texts = _render(chosen, candidates, len(ctx.plan.sections))
    whole = "\n".join(texts)
    for t in ctx.vocabulary.terms:  # terms not met yet get their definition
        if not appears_in(t.term, whole):
            texts[-1] += f"\n\n**{t.term}**: {t.definition}"
            whole += f"\n{t.term}"
    diagram = ctx.plan.diagram
    if diagram is not None:
        texts[-1] += f"\n\n{diagram_reference(list(diagram.elements))}"
    taught = whole + "\n".join(f"{t.term}: {t.definition}" for t in ctx.vocabulary.terms)
    if safety_relevant(taught) and not has_safety_note(whole):
        texts[0] += f"\n\n{SAFETY_NOTE}"
    return texts


def rules(ctx: PhaseContext) -> ExplanationOutput:
    candidates = _items(ctx)
    chosen = [i for i in candidates if i.tier == 0]
    total = sum(word_count(i.text) for i in chosen)
    for tier in range(1, 9):
        for item in (i for i in candidates if i.tier == tier):
            w = word_count(item.text)
            if total + w <= MAX_WORDS - 60 and (tier <= 2 or total < COMFORTABLE):
                chosen.append(item)
                total += w
    texts = _compose(ctx, chosen, candidates)
    # The terms and the safety note come last; make room for them, latest choices first.
    while word_count("\n".join(texts)) > MAX_WORDS and chosen[-1].tier > 0:
        chosen.pop()
        texts = _compose(ctx, chosen, candidates)
    if word_count("\n".join(texts)) > MAX_WORDS:
        raise PhaseError(PHASE, "the required content alone is longer than 600 words")
    return ExplanationOutput(
        sections=[
            ExplanationSection(title=s.title, content=text)
            for s, text in zip(ctx.plan.sections, texts, strict=True)
        ]
    )


def check(ctx: PhaseContext) -> Callable[[ExplanationOutput], None]:
    def check_explanation(out: ExplanationOutput) -> None:
        found = []
        if len(out.sections) != len(ctx.plan.sections):
            found.append(f"write exactly {len(ctx.plan.sections)} section(s), as planned")
        text = "\n\n".join(s.content for s in out.sections)
        words = word_count(text)
        if not MIN_WORDS <= words <= MAX_WORDS:
            found.append(f"the explanation has {words} words; write 400-600")
        missing = [t.term for t in ctx.vocabulary.terms if not appears_in(t.term, text)]
        if missing:
            found.append(f"use every vocabulary term; missing: {missing}")
        found += text_violations(text, ctx.constraints)
        if found:
            raise ValueError("; ".join(found))

    return check_explanation


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[ExplanationOutput]:
    return await ask_model(
        PHASE,
        ctx,
        ExplanationOutput,
        gateway,
        reads=(LessonPhase.PLANNING, LessonPhase.VOCABULARY),
        check=check(ctx),
    )


EXPLANATION: Family[PhaseContext, ExplanationOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-explanation")
)
