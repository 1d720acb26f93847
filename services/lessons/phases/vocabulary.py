"""Phase 2, vocabulary: the 4-6 terms the explanation uses and the questions may ask about.

Rules, in priority: the planned focus concepts (name and definition), related
concepts the explanation compares them with, then term-like fact values
("link-state", "DUAL") defined by their fact. Definitions that break a teaching
constraint (a formula under noCalculations, steps under excludeHowTo) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from events.lessons import LessonPhase, MaterialConcept
from services.generation import Family, Gateway, Generated, register
from services.lessons.constraints import text_violations
from services.lessons.contract import Term
from services.lessons.phases.base import FAMILY_PREFIX, PhaseContext, PhaseError, ask_model
from services.lessons.phases.models import VocabularyOutput
from services.lessons.text import first_sentence, normalise

__all__ = ["VOCABULARY", "check", "definition_of", "rules"]

PHASE = LessonPhase.VOCABULARY
_TERM_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9 /.+-]{1,40}$")


def _term_like(value: str) -> bool:
    """A name ("link-state", "DUAL", "ring final circuit"), not a number or a clause."""
    words = value.split()
    return (
        bool(_TERM_LIKE.match(value))
        and len(words) <= 3
        and words[0].lower() not in ("the", "a", "an", "no", "yes", "it", "they")
        and not any(ch.isdigit() for ch in value)
    )


def definition_of(c: MaterialConcept) -> str:
    if c.definition:
        return first_sentence(c.definition)
    if c.facts:
        return first_sentence(c.facts[0].statement)
    return f"{c.name}, a concept of {c.cluster_name}."


def planned_concepts(ctx: PhaseContext) -> list[MaterialConcept]:
    slugs = [s for section in ctx.plan.sections for s in section.concepts]
    return [ctx.concept(s) for s in dict.fromkeys(slugs)]


def compared_concepts(ctx: PhaseContext) -> list[MaterialConcept]:
    """The related concepts the lesson compares its focus with (at most three)."""
    return scoped_related(ctx)[:3]


def scoped_related(ctx: PhaseContext) -> list[MaterialConcept]:
    return ctx.constraints.scoped(ctx.material.focus, ctx.material.related)[1]


def _candidates(ctx: PhaseContext) -> Iterator[Term]:
    focus = planned_concepts(ctx)
    for c in focus:
        yield Term(term=c.name, definition=definition_of(c))
    for c in compared_concepts(ctx):
        yield Term(term=c.name, definition=definition_of(c))
    for c in focus:
        for f in c.facts:
            if _term_like(f.value):
                yield Term(term=f.value, definition=first_sentence(f.statement))
    for c in scoped_related(ctx)[3:]:
        yield Term(term=c.name, definition=definition_of(c))
    # Last resort for thin, narrowly scoped topics: a fact's attribute, in its context.
    for c in focus:
        for f in c.facts:
            yield Term(term=f.attribute, definition=first_sentence(f.statement))


def rules(ctx: PhaseContext) -> VocabularyOutput:
    names = [*planned_concepts(ctx), *scoped_related(ctx)]
    terms: dict[str, Term] = {}
    for t in _candidates(ctx):
        if normalise(t.term) in terms or text_violations(t.definition, ctx.constraints):
            continue
        if len(terms) >= 4 and not any(normalise(t.term) == normalise(c.name) for c in names):
            break  # beyond four, only concepts: no weak terms to fill the six
        terms[normalise(t.term)] = t
        if len(terms) == 6:
            break
    if len(terms) < 4:
        raise PhaseError(PHASE, f"the material yields only {len(terms)} terms, 4 are needed")
    return VocabularyOutput(terms=list(terms.values()))


def check(ctx: PhaseContext) -> Callable[[VocabularyOutput], None]:
    focus = planned_concepts(ctx)

    def check_terms(out: VocabularyOutput) -> None:
        names = {normalise(t.term) for t in out.terms}
        missing = [c.name for c in focus if normalise(c.name) not in names]
        found = [f"define the focus concept {m!r} as a term" for m in missing[:6]]
        for t in out.terms:
            for v in text_violations(t.definition, ctx.constraints):
                found.append(f"term {t.term!r}: {v}")
        if found:
            raise ValueError("; ".join(found))

    return check_terms


async def llm(ctx: PhaseContext, gateway: Gateway) -> Generated[VocabularyOutput]:
    return await ask_model(
        PHASE, ctx, VocabularyOutput, gateway, reads=(LessonPhase.PLANNING,), check=check(ctx)
    )


VOCABULARY: Family[PhaseContext, VocabularyOutput] = register(
    Family(f"{FAMILY_PREFIX}.{PHASE.value}", rules, llm=llm, task="lesson-vocabulary")
)
