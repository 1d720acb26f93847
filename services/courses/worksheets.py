"""Arithmetic worksheets: problems from ``problems`` written as items in each approach.

The formal voice states an equation, the conversational one talks to the learner,
the visual/story one puts the numbers in a small scene (stickers shared among
friends, a pizza eaten in fractions, money spent). Every item keeps the
arithmetic it asks for in ``expression``, so the checker verifies story items too.
"""

from __future__ import annotations

import random
from fractions import Fraction

from events.courses import DraftGroup, DraftItem, ItemMode, PedagogicalApproach
from services.courses.arithmetic import DIVIDE, TIMES
from services.courses.problems import Problem
from services.courses.skills import Skill

__all__ = ["NAMES", "math_group", "phrase"]

NAMES = ("Mia", "Leo", "Ava", "Noah", "Zara", "Omar", "Lina", "Kai", "Ruth", "Sam", "Ines", "Tom")
THINGS = ("stickers", "marbles", "apples", "shells", "books", "pencils", "cards", "stamps")

FORMAL = (
    "Compute {e} = [blank]",
    "Evaluate: {e} = [blank]",
    "Calculate {e} = [blank].",
    "Find the value: {e} = [blank]",
)
CONVERSATIONAL = (
    "Your turn: {e} = [blank]",
    "Quick check! {e} = [blank]",
    "Let's work it out together: {e} = [blank]",
    "You've got this one: {e} = [blank]",
)
LEADS = {
    "signed": "Picture a number line: {e} = [blank]",
    "mixed": "Picture it step by step: {e} = [blank]",
}


def _money(v: Fraction) -> str:
    cents = v * 100
    if cents.denominator != 1:
        return f"{float(v):g} dollars"
    c = int(cents)
    return f"${c // 100}.{c % 100:02d}"


def _frac(v: Fraction) -> str:
    return f"{v.numerator}/{v.denominator}"


def _story(p: Problem, rng: random.Random) -> str | None:
    """A small scene for the problem, or None when none fits it."""
    name, other = rng.sample(NAMES, 2)
    things = rng.choice(THINGS)
    a, b = p.a, p.b
    whole = a.denominator == 1 and b.denominator == 1
    if p.signed or p.op == "mixed":
        return None
    if p.decimal:
        stories = {
            "+": f"{name} buys a pen for {_money(a)} and a notebook for {_money(b)}. "
            "How many dollars is that altogether? [blank]",
            "-": f"{name} has {_money(a)} and spends {_money(b)} on lunch. "
            "How many dollars are left? [blank]",
            TIMES: f"One metre of ribbon costs {_money(a)}. "
            f"How many dollars do {b} metres cost? [blank]",
            DIVIDE: f"{name} shares {_money(a)} equally among {b} friends. "
            "How many dollars does each friend get? [blank]",
        }
        return stories.get(p.op)
    if whole:
        stories = {
            "+": f"{name} has {a} {things}. {other} gives {name} {b} more. "
            f"How many {things} does {name} have now? [blank]",
            "-": f"{name} had {a} {things} and gave {b} of them to {other}. "
            f"How many {things} does {name} have left? [blank]",
            TIMES: f"{name} fills {a} bags with {b} {things} each. "
            f"How many {things} is that in all? [blank]",
            DIVIDE: f"{name} shares {a} {things} equally among {b} friends. "
            f"How many {things} does each friend get? [blank]",
        }
        return stories.get(p.op)
    if p.op == TIMES and b.denominator == 1:
        return (
            f"A recipe needs {_frac(a)} of a cup of milk. {name} makes {b} batches. "
            "How many cups of milk is that? [blank]"
        )
    stories = {
        "+": f"{name} ate {_frac(a)} of a pizza and later {_frac(b)} more. "
        f"How much of the pizza did {name} eat? [blank]",
        "-": f"A ribbon is {_frac(a)} of a metre long. {name} cuts off {_frac(b)} of a metre. "
        "How many metres are left? [blank]",
        TIMES: f"{name} plants beans on {_frac(b)} of a garden bed that covers {_frac(a)} "
        "of the garden. What part of the whole garden has beans? [blank]",
        DIVIDE: f"{name} has {_frac(a)} of a litre of juice and pours glasses of {_frac(b)} "
        "of a litre. How many glasses can " + name + " pour? [blank]",
    }
    return stories.get(p.op)


def phrase(p: Problem, approach: PedagogicalApproach, rng: random.Random) -> str:
    """The item text for a problem in the candidate's voice."""
    if approach is PedagogicalApproach.VISUAL_STORY:
        story = _story(p, rng)
        if story is not None:
            return story
        return LEADS["mixed" if p.op == "mixed" else "signed"].format(e=p.expression)
    templates = CONVERSATIONAL if approach is PedagogicalApproach.CONVERSATIONAL else FORMAL
    return rng.choice(templates).format(e=p.expression)


def _item(p: Problem, text: str, mode: ItemMode, options: int, rng: random.Random) -> DraftItem:
    answer = p.text_of(p.value)
    explanation = f"{p.expression} = {answer}"
    if mode is ItemMode.NUMERIC:
        return DraftItem(
            text=text,
            mode=mode.value,
            answer=answer,
            expression=p.expression,
            explanation=explanation,
        )
    values = [p.value, *p.distractors[: options - 1]]
    rng.shuffle(values)
    return DraftItem(
        text=text,
        mode=mode.value,
        options=[p.text_of(v) for v in values],
        correct_index=values.index(p.value),
        expression=p.expression,
        explanation=explanation,
    )


def math_group(
    skill: Skill,
    count: int,
    *,
    approach: PedagogicalApproach,
    modes: list[ItemMode],
    options: int,
    rng: random.Random,
    order: list[int],
    taken: set[str],
    mode_offset: int,
) -> DraftGroup:
    """One group of ``count`` distinct items practising ``skill``, in ``order`` (a
    permutation of positions by ascending difficulty, see ``rules.ordering``)."""
    problems: list[Problem] = []
    for _ in range(count * 20):  # small skills (add within 20) run out of fresh problems
        if len(problems) == count:
            break
        p = skill.make(rng)
        if p.expression in taken or len(p.distractors) < options - 1:
            continue
        taken.add(p.expression)
        problems.append(p)
    problems.sort(key=lambda p: p.difficulty)
    ordered = [problems[i] for i in order if i < len(problems)]
    items = [
        _item(p, phrase(p, approach, rng), modes[(j + mode_offset) % len(modes)], options, rng)
        for j, p in enumerate(ordered)
    ]
    return DraftGroup(title=skill.title, items=items)
