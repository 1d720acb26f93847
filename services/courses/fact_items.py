"""Fact items from the content packs' statements: clozes in options and numeric mode.

- options: a fact's statement with its value blanked, the value among the values
  sibling concepts (then the pack) give for the same attribute;
- numeric: a fact whose value is a number (``3 seconds``, ``16,777,214``), the
  number blanked and kept as the answer;
- a definition with the concept's name blanked, among its siblings' names.

A fact is used at most once per course. Items are framed in the candidate's
voice; the statement itself is never changed, so every item says what the pack
says.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from events.content import ConceptImported, Fact
from events.courses import PLACEHOLDER, DraftItem, ItemMode, PedagogicalApproach
from services.courses.arithmetic import format_number, parse_number
from services.courses.facts import FactBank
from services.courses.worksheets import NAMES

__all__ = ["FactItem", "concept_items", "frame"]

_NUMERIC_VALUE = re.compile(r"^(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s+[A-Za-z].*)?$")
BLANK = "[blank]"

CONVERSATIONAL = ("Quick check: ", "Here's one you'll meet on the job: ", "Your turn: ")


MAX_DEFINITION = 220  # characters: longer definitions make unwieldy items


@dataclass(frozen=True)
class FactItem:
    key: str  # the statement it comes from: used once per course
    item: DraftItem
    concept: str  # the concept's name, for framing


def frame(text: str, approach: PedagogicalApproach, concept: str, rng: random.Random) -> str:
    """The item text in the candidate's voice (the statement itself is kept verbatim)."""
    if approach is PedagogicalApproach.CONVERSATIONAL:
        return rng.choice(CONVERSATIONAL) + text
    if approach is PedagogicalApproach.VISUAL_STORY:
        name = rng.choice(NAMES)
        return rng.choice(
            (
                f'{name} is revising {concept} and reads: "{text}"',
                f'At the help desk, {name} explains {concept}: "{text}"',
            )
        )
    return text


def _blank(statement: str, part: str, start: int) -> str | None:
    text = statement[:start] + BLANK + statement[start + len(part) :]
    if len(PLACEHOLDER.findall(text)) != 1:
        return None  # the statement holds a placeholder-like run of its own
    return text


def _distractors(fact: Fact, concept: ConceptImported, bank: FactBank) -> list[str]:
    """Other concepts' values for the same attribute: siblings first, then the pack."""
    attribute = fact.attribute.casefold()
    seen = {fact.value.casefold()}
    out = []
    for other in [*bank.siblings(concept), *bank.pack_of(concept)]:
        if other.concept_id == concept.concept_id:
            continue
        for f in other.facts:
            v = f.value.strip()
            if f.attribute.casefold() == attribute and v.casefold() not in seen:
                if v.casefold() in fact.statement.casefold():
                    continue  # the statement itself names it: no contrast
                seen.add(v.casefold())
                out.append(v)
    return out


def _options_item(
    fact: Fact, concept: ConceptImported, bank: FactBank, options: int, rng: random.Random
) -> DraftItem | None:
    if fact.statement.count(fact.value) != 1:
        return None
    text = _blank(fact.statement, fact.value, fact.statement.index(fact.value))
    wrong = _distractors(fact, concept, bank)
    if text is None or len(wrong) < 2:
        return None
    choices = [fact.value, *wrong[: options - 1]]
    rng.shuffle(choices)
    return DraftItem(
        text=text,
        mode=ItemMode.OPTIONS.value,
        options=choices,
        correct_index=choices.index(fact.value),
        explanation=fact.statement,
    )


def _numeric_item(fact: Fact) -> DraftItem | None:
    m = _NUMERIC_VALUE.match(fact.value)
    if m is None or fact.statement.count(fact.value) != 1:
        return None
    text = _blank(fact.statement, m["num"], fact.statement.index(fact.value))
    if text is None:
        return None
    answer = format_number(parse_number(m["num"]), decimal=True)
    return DraftItem(
        text=text, mode=ItemMode.NUMERIC.value, answer=answer, explanation=fact.statement
    )


def _definition_item(
    concept: ConceptImported, bank: FactBank, options: int, rng: random.Random
) -> DraftItem | None:
    definition = (concept.definition or "").strip()
    if not definition or len(definition) > MAX_DEFINITION:
        return None
    if concept.name.casefold() in definition.casefold():
        return None  # the definition would give the answer away
    names = [s.name for s in bank.siblings(concept) if s.name != concept.name]
    names += [
        c.name
        for c in bank.pack_of(concept)
        if c.cluster_slug == concept.cluster_slug and c.name not in (*names, concept.name)
    ]
    if len(names) < 2:
        return None
    choices = [concept.name, *rng.sample(names, min(len(names), options - 1))]
    rng.shuffle(choices)
    text = f"{BLANK}: {definition}"
    if len(PLACEHOLDER.findall(text)) != 1:
        return None
    return DraftItem(
        text=text,
        mode=ItemMode.OPTIONS.value,
        options=choices,
        correct_index=choices.index(concept.name),
        explanation=f"{concept.name}: {definition}",
    )


def concept_items(
    concept: ConceptImported,
    bank: FactBank,
    *,
    mode: ItemMode,
    options: int,
    rng: random.Random,
) -> list[FactItem]:
    """Every item of ``mode`` the concept's facts (and definition) make, in random order."""
    out: list[FactItem] = []
    for fact in concept.facts:
        item = (
            _options_item(fact, concept, bank, options, rng)
            if mode is ItemMode.OPTIONS
            else _numeric_item(fact)
        )
        if item is not None:
            out.append(FactItem(fact.statement, item, concept.name))
    if mode is ItemMode.OPTIONS:
        item = _definition_item(concept, bank, options, rng)
        if item is not None:
            out.append(FactItem(f"definition:{concept.concept_id}", item, concept.name))
    rng.shuffle(out)
    return out
