"""Is an atom answerable from its concept's source facts, is its answer right, and
does its question read as English?

Used on every llm-made atom (a failing one is re-asked, then replaced by
rules) and by the tests on every rules-made atom. Text is compared after
case-folding and collapsing whitespace. The English check is the one content
packs apply to their questions (``events.questions``): no "the attack
mitigated of <concept>", "the role of a DHCPv6 server of <concept>".
"""

from __future__ import annotations

import re

from events.content import (
    Atom,
    ClozeBody,
    CompareBody,
    ConceptImported,
    FlashcardBody,
    McqBody,
    NumericBody,
    OrderingBody,
    TrueFalseBody,
)
from events.questions import CONCEPT, sentence_problems
from services.remediation.calculators import compute

__all__ = ["problems"]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def problems(
    atom: Atom, concept: ConceptImported, siblings: tuple[ConceptImported, ...] = ()
) -> list[str]:
    """What is wrong with ``atom`` as an item about ``concept`` (empty: nothing)."""
    if atom.concept_id != concept.concept_id:
        return [f"atom is about concept {atom.concept_id}, not {concept.concept_id}"]
    names = [concept.name, *(s.name for s in siblings)]
    unreadable = sentence_problems(atom.front, names)
    if unreadable:
        return [f"{atom.front!r} does not read as English: {p}" for p in unreadable]
    values = {_norm(f.value): f for f in concept.facts}
    statements = {_norm(f.statement) for f in concept.facts}
    b = atom.body
    if isinstance(b, FlashcardBody):
        back = _norm(b.back)
        if back in values or (concept.definition and back == _norm(concept.definition)):
            return []
        if back in statements or any(len(v) >= 3 and v in back for v in values):
            return []
        return [f"flashcard answer {b.back!r} is not a fact or the definition of {concept.name}"]
    if isinstance(b, ClozeBody):
        filled = _norm(b.text.replace("____", b.answer))
        if filled in statements:
            return []
        return [f"cloze filled with {b.answer!r} is not a fact of {concept.name}"]
    if isinstance(b, McqBody):
        right = _norm(b.options[b.answer_index])
        if right not in values:
            return [f"mcq answer {b.options[b.answer_index]!r} is not a fact of {concept.name}"]
        fact = values[right]
        if any(_norm(o) == right for i, o in enumerate(b.options) if i != b.answer_index):
            return ["mcq repeats the answer among the distractors"]
        asked = fact.asked().replace(CONCEPT, concept.name)
        if fact.attribute.casefold() not in b.stem.casefold() and _norm(b.stem) != _norm(asked):
            return [f"mcq stem neither names the {fact.attribute} nor asks {asked!r}"]
        return []
    if isinstance(b, TrueFalseBody):
        if b.answer:
            return (
                []
                if _norm(b.statement) in statements
                else [f"'true' statement is not a fact of {concept.name}: {b.statement!r}"]
            )
        if _norm(b.statement) in statements:
            return ["a 'false' statement is a fact"]
        if not b.correction or _norm(b.correction) not in statements:
            return ["a 'false' statement needs the true fact as its correction"]
        return []
    if isinstance(b, CompareBody):
        by_name = {_norm(c.name): c for c in (concept, *siblings)}
        out = []
        for item in b.items:
            who = by_name.get(_norm(item.concept))
            if who is None:
                out.append(f"compare names {item.concept!r}, neither the concept nor a sibling")
                continue
            truth = {_norm(f.attribute): _norm(f.value) for f in who.facts}
            if truth.get(_norm(b.attribute)) != _norm(item.value):
                out.append(f"{who.name}'s {b.attribute} is not {item.value!r}")
        return out
    if isinstance(b, OrderingBody):
        orders = [[_norm(s) for s in p.steps] for p in concept.procedures]
        if [_norm(s) for s in b.answer] not in orders:
            return [f"{b.type} order is not a procedure of {concept.name}"]
        return []
    assert isinstance(b, NumericBody)
    if b.calculation not in concept.calculations:
        return [f"{concept.name} has no {b.calculation.value} exercises"]
    try:
        expected = compute(b.calculation, b.given)
    except ValueError as exc:
        return [f"numeric input {b.given!r} is invalid: {exc}"]
    return (
        []
        if _norm(expected) == _norm(b.answer)
        else [f"{b.calculation.value}({b.given}) is {expected}, not {b.answer}"]
    )
