"""The arithmetic skills by grade, from addition to fractions (the rules strategy's math).

Each ``Skill`` names a problem maker (``problems``), the words of a topic that select
it, and the group title it gives a worksheet. ``SKILLS_BY_GRADE`` says what a grade
practises; from grade 8 on, arithmetic is rational expressions and the harder
operations of the grades before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.courses.arithmetic import DIVIDE, TIMES
from services.courses.problems import (
    Maker,
    Problem,
    add,
    dec_add,
    dec_div,
    dec_mul,
    div,
    frac_add,
    frac_div,
    frac_mul,
    frac_times_whole,
    integers,
    mul,
    order_of_operations,
    rational,
    sub,
)

__all__ = ["SKILLS", "SKILLS_BY_GRADE", "Skill", "skills_for"]


@dataclass(frozen=True)
class Skill:
    slug: str
    title: str
    words: frozenset[str]  # topic words that select it
    maker: Maker

    def make(self, rng: random.Random) -> Problem:
        return self.maker(rng)


ADD = "addition add adding sums"
SUB = "subtraction subtract"
MUL = "multiplication multiply"
DIV = "division divide"
FRAC = "fractions fraction"
DEC = "decimals decimal"
INT = "integers integer negative numbers"


def _s(slug: str, title: str, words: str, maker: Maker) -> Skill:
    return Skill(slug, title, frozenset(words.split()), maker)


SKILLS: dict[str, Skill] = {
    s.slug: s
    for s in (
        _s("add-20", "Addition within 20", ADD, add(2, 10)),
        _s("sub-20", "Subtraction within 20", SUB, sub(2, 20)),
        _s("add-100", "Addition within 100", ADD, add(10, 89, max_sum=100)),
        _s("sub-100", "Subtraction within 100", SUB, sub(10, 99)),
        _s("add-1000", "Addition within 1000", ADD, add(100, 899, max_sum=1000)),
        _s("sub-1000", "Subtraction within 1000", SUB, sub(100, 999)),
        _s("times-tables", "Multiplication facts", f"{MUL} times tables", mul((2, 10), (2, 10))),
        _s("division-facts", "Division facts", DIV, div((2, 10), (2, 10))),
        _s(
            "multi-digit-multiplication",
            "Multiplying by a one-digit number",
            MUL,
            mul((12, 99), (2, 9)),
        ),
        _s(
            "two-digit-multiplication",
            "Multiplying two-digit numbers",
            MUL,
            mul((11, 49), (11, 29)),
        ),
        _s("long-division", "Dividing by a one-digit number", DIV, div((11, 99), (2, 9))),
        _s(
            "fractions-like",
            "Adding fractions with like denominators",
            f"{FRAC} {ADD}",
            frac_add(like=True),
        ),
        _s(
            "fractions-like-sub",
            "Subtracting fractions with like denominators",
            f"{FRAC} {SUB}",
            frac_add(like=True, subtract=True),
        ),
        _s(
            "fractions-unlike",
            "Adding fractions with unlike denominators",
            f"{FRAC} {ADD}",
            frac_add(like=False),
        ),
        _s(
            "fractions-unlike-sub",
            "Subtracting fractions with unlike denominators",
            f"{FRAC} {SUB}",
            frac_add(like=False, subtract=True),
        ),
        _s(
            "fraction-times-whole",
            "Multiplying a fraction by a whole number",
            f"{FRAC} {MUL}",
            frac_times_whole,
        ),
        _s("fraction-multiplication", "Multiplying fractions", f"{FRAC} {MUL}", frac_mul),
        _s("fraction-division", "Dividing fractions", f"{FRAC} {DIV}", frac_div),
        _s("decimal-addition", "Adding decimals", f"{DEC} {ADD} money", dec_add(subtract=False)),
        _s(
            "decimal-subtraction",
            "Subtracting decimals",
            f"{DEC} {SUB} money",
            dec_add(subtract=True),
        ),
        _s("decimal-multiplication", "Multiplying decimals", f"{DEC} {MUL}", dec_mul),
        _s("decimal-division", "Dividing decimals", f"{DEC} {DIV}", dec_div),
        _s(
            "order-of-operations",
            "Order of operations",
            "order operations pemdas bodmas",
            order_of_operations,
        ),
        _s(
            "integer-addition",
            "Adding and subtracting integers",
            f"{INT} {ADD} {SUB}",
            integers("+-"),
        ),
        _s(
            "integer-multiplication",
            "Multiplying and dividing integers",
            f"{INT} {MUL} {DIV}",
            integers(TIMES + DIVIDE),
        ),
        _s(
            "rational-expressions",
            "Expressions with fractions and negatives",
            f"{FRAC} rational negative expressions",
            rational,
        ),
    )
}

SKILLS_BY_GRADE: dict[int, tuple[str, ...]] = {
    1: ("add-20", "sub-20"),
    2: ("add-100", "sub-100", "add-20", "sub-20"),
    3: ("times-tables", "division-facts", "add-1000", "sub-1000"),
    4: ("multi-digit-multiplication", "long-division", "fractions-like", "fractions-like-sub"),
    5: (
        "fractions-unlike",
        "fractions-unlike-sub",
        "decimal-addition",
        "decimal-subtraction",
        "fraction-times-whole",
        "two-digit-multiplication",
    ),
    6: (
        "fraction-multiplication",
        "fraction-division",
        "decimal-multiplication",
        "decimal-division",
        "order-of-operations",
    ),
    7: (
        "integer-addition",
        "integer-multiplication",
        "order-of-operations",
        "fraction-division",
        "fractions-unlike",
    ),
    **{
        grade: (
            "rational-expressions",
            "integer-multiplication",
            "fraction-division",
            "order-of-operations",
            "decimal-division",
        )
        for grade in range(8, 13)
    },
}


def skills_for(grade: int, topic: str | None) -> list[Skill]:
    """The grade's skills; a topic keeps those it names (any grade's, when the grade's
    own skills do not cover it). Empty when the topic names no skill at all."""
    own = [SKILLS[s] for s in SKILLS_BY_GRADE[grade]]
    if not topic:
        return own
    words = {w.strip(".,").casefold() for w in topic.split()}
    picked = [s for s in own if s.words & words or s.slug in words]
    if picked:
        return picked
    return [s for s in SKILLS.values() if s.words & words or s.slug in words]
