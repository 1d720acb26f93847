"""The rules strategy: correct atoms made from a concept's facts, siblings and procedures.

Every atom's answer is a fact's value, a fact verbatim, a procedure's order or
an exact computation, so it is right by construction (``verify`` checks it):

- flashcard: a fact's question -> its value, or the concept -> its definition;
- cloze: a fact's statement with its value blanked;
- mcq: the concept's value for an attribute among its siblings' values for it;
- true_false: a fact verbatim (true) or with a sibling's value swapped in (false);
- compare: the concept and a sibling side by side on a shared attribute;
- parsons / sequence: a procedure's configuration lines / steps, shuffled;
- numeric: an addressing exercise computed with ``ipaddress``.

A fact is asked with its own question or the default that reads right for its
attribute (``Fact.asked``), never "What is the attack mitigated of ...?".

Candidates come in a fixed order and each has a ``variant`` key; atoms a
concept already has are skipped, so repeated requests make new atoms.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import zip_longest

from events.content import (
    Atom,
    AtomBody,
    AtomType,
    ClozeBody,
    CompareBody,
    CompareItem,
    ConceptImported,
    ContentType,
    Fact,
    FlashcardBody,
    KnowledgeType,
    McqBody,
    NumericBody,
    OrderingBody,
    TrueFalseBody,
)
from events.learning import FailMode
from events.questions import CONCEPT
from services.remediation.calculators import numeric_items

__all__ = ["AtomTask", "ask", "has_source_content", "make_atoms", "sibling_values"]


@dataclass(frozen=True)
class AtomTask:
    """Make ``count`` atoms of ``atom_types`` (in priority order) for one content type."""

    concept: ConceptImported
    siblings: tuple[ConceptImported, ...]
    content_type: ContentType
    atom_types: tuple[AtomType, ...]
    count: int
    avoid: frozenset[str] = field(default_factory=frozenset)  # variants the concept has
    fail_mode: FailMode | None = None
    written: tuple[str, ...] = ()  # questions the concept already has (for the llm)


def has_source_content(concept: ConceptImported) -> bool:
    return bool(concept.facts or concept.procedures or concept.definition or concept.calculations)


def sibling_values(
    concept: ConceptImported, siblings: tuple[ConceptImported, ...], fact: Fact
) -> list[tuple[ConceptImported, str]]:
    """Siblings' values for ``fact.attribute`` that differ from the concept's, one per value."""
    seen = {fact.value.casefold()}
    out = []
    for sib in siblings:
        for f in sib.facts:
            if f.attribute == fact.attribute and f.value.casefold() not in seen:
                seen.add(f.value.casefold())
                out.append((sib, f.value))
    return out


def _shuffled(items: list[str], seed: str) -> list[str]:
    order = list(items)
    random.Random(seed).shuffle(order)
    if order == items:  # never hand out the answer as the puzzle
        order = order[1:] + order[:1]
    return order


class _Maker:
    def __init__(self, task: AtomTask) -> None:
        self.task = task
        self.concept = task.concept

    def atom(
        self,
        body: AtomBody,
        variant: str,
        knowledge: KnowledgeType,
        fidelity: str,
        basis: list[str],
    ) -> Atom:
        return Atom(
            atom_id=uuid.uuid5(self.concept.concept_id, variant),
            concept_id=self.concept.concept_id,
            content_type=self.task.content_type,
            knowledge_type=knowledge,
            body=body,
            source_fact_basis=basis,
            fidelity_type=fidelity,  # type: ignore[arg-type]
            variant=variant,
        )

    # one generator per atom type, each in a fixed order -----------------------
    def flashcard(self) -> Iterator[Atom]:
        c = self.concept
        definition = []
        if c.definition:
            definition.append(
                self.atom(
                    FlashcardBody(front=f"What is {c.name}?", back=c.definition),
                    "flashcard:definition",
                    KnowledgeType.CONCEPTUAL,
                    "verbatim",
                    [c.definition],
                )
            )
        facts = (
            self.atom(
                FlashcardBody(front=ask(f, c), back=f.value),
                f"flashcard:{f.attribute}",
                KnowledgeType.FACTUAL,
                "verbatim",
                [f.statement],
            )
            for f in c.facts
        )
        if self.task.content_type is ContentType.EXPLANATION:
            yield from definition
            yield from facts
        else:
            yield from facts
            yield from definition

    def cloze(self) -> Iterator[Atom]:
        for f in self.concept.facts:
            if f.statement.count(f.value) != 1:
                continue  # the blank would be given away elsewhere in the sentence
            yield self.atom(
                ClozeBody(text=f.statement.replace(f.value, "____"), answer=f.value),
                f"cloze:{f.attribute}",
                KnowledgeType.FACTUAL,
                "verbatim",
                [f.statement],
            )

    def mcq(self) -> Iterator[Atom]:
        c = self.concept
        for f in c.facts:
            others = sibling_values(c, self.task.siblings, f)[:3]
            if len(others) < 2:
                continue
            variant = f"mcq:{f.attribute}"
            options = _shuffled([f.value, *(v for _, v in others)], f"{c.concept_id}:{variant}")
            yield self.atom(
                McqBody(
                    stem=ask(f, c),
                    options=options,
                    answer_index=options.index(f.value),
                ),
                variant,
                KnowledgeType.FACTUAL,
                "derived",
                [f.statement, *(_statement_of(s, f.attribute) for s, _ in others)],
            )

    def true_false(self) -> Iterator[Atom]:
        c = self.concept
        falses, trues = [], []
        for f in c.facts:
            for sib, value in sibling_values(c, self.task.siblings, f)[:1]:
                if f.statement.count(f.value) != 1:
                    continue
                falses.append(
                    self.atom(
                        TrueFalseBody(
                            statement=f.statement.replace(f.value, value),
                            answer=False,
                            correction=f.statement,
                        ),
                        f"true_false:{f.attribute}:false:{sib.slug}",
                        KnowledgeType.FACTUAL,
                        "derived",
                        [f.statement, _statement_of(sib, f.attribute)],
                    )
                )
            trues.append(
                self.atom(
                    TrueFalseBody(statement=f.statement, answer=True),
                    f"true_false:{f.attribute}:true",
                    KnowledgeType.FACTUAL,
                    "verbatim",
                    [f.statement],
                )
            )
        # Discrimination is practised on the false ones; alternate so both appear.
        for pair in zip_longest(falses, trues):
            yield from (a for a in pair if a is not None)

    def compare(self) -> Iterator[Atom]:
        c = self.concept
        for sib in self.task.siblings:
            theirs = {f.attribute: f for f in sib.facts}
            for f in c.facts:
                other = theirs.get(f.attribute)
                if other is None or other.value.casefold() == f.value.casefold():
                    continue
                yield self.atom(
                    CompareBody(
                        prompt=f"{ask(f, c)} And {sib.name}?",
                        attribute=f.attribute,
                        items=[
                            CompareItem(concept=c.name, value=f.value),
                            CompareItem(concept=sib.name, value=other.value),
                        ],
                    ),
                    f"compare:{sib.slug}:{f.attribute}",
                    KnowledgeType.CONCEPTUAL,
                    "derived",
                    [f.statement, other.statement],
                )

    def _ordering(self, kind: str, atom_type: str) -> Iterator[Atom]:
        for p in self.concept.procedures:
            if p.kind != kind:
                continue
            variant = f"{atom_type}:{p.name}"
            what = "configuration lines" if kind == "commands" else "steps"
            yield self.atom(
                OrderingBody(
                    type=atom_type,  # type: ignore[arg-type]
                    prompt=f"Put the {what} in order: {p.name}.",
                    shuffled=_shuffled(p.steps, f"{self.concept.concept_id}:{variant}"),
                    answer=p.steps,
                ),
                variant,
                KnowledgeType.PROCEDURAL,
                "verbatim",
                list(p.steps),
            )

    def parsons(self) -> Iterator[Atom]:
        return self._ordering("commands", "parsons")

    def sequence(self) -> Iterator[Atom]:
        return self._ordering("steps", "sequence")

    def numeric(self) -> Iterator[Atom]:
        per_calc = [
            numeric_items(calc, str(self.concept.concept_id)) for calc in self.concept.calculations
        ]
        for round_ in zip_longest(*per_calc):
            for item in round_:
                if item is None:
                    continue
                yield self.atom(
                    NumericBody(
                        question=item.question,
                        answer=item.answer,
                        calculation=item.calculation,
                        given=item.given,
                        working=item.working,
                    ),
                    f"numeric:{item.calculation.value}:{item.given}",
                    KnowledgeType.PROCEDURAL,
                    "computed",
                    [item.working],
                )


def ask(fact: Fact, concept: ConceptImported) -> str:
    """The question that asks for ``fact``'s value, about ``concept``."""
    return fact.asked().replace(CONCEPT, concept.name)


def _statement_of(concept: ConceptImported, attribute: str) -> str:
    return next(f.statement for f in concept.facts if f.attribute == attribute)


def make_atoms(task: AtomTask) -> list[Atom]:
    """Up to ``task.count`` new atoms, taking the types round robin in priority order."""
    maker = _Maker(task)
    sources = {t: getattr(maker, t.value)() for t in task.atom_types}
    seen = set(task.avoid)
    made: list[Atom] = []
    active = list(task.atom_types)
    while len(made) < task.count and active:
        for atom_type in list(active):
            if len(made) >= task.count:
                break
            atom = next((a for a in sources[atom_type] if a.variant not in seen), None)
            if atom is None:
                active.remove(atom_type)
                continue
            seen.add(atom.variant)
            made.append(atom)
    return made
