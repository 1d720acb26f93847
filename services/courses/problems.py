"""Arithmetic problems by grade, from addition to fractions, with exact answers and
distractors taken from the mistakes learners typically make.

Each maker turns a seeded ``random.Random`` into a ``Problem``; ``skills`` names
them and says which a grade practises. Every value is a ``Fraction`` computed
here, never parsed back from text, and every distractor is a wrong value a
learner would plausibly write (no carrying, adding the denominators, forgetting
to invert, a misplaced decimal point, ...).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction as F

from services.courses.arithmetic import DIVIDE, TIMES, evaluate, format_number

__all__ = [
    "Maker",
    "Problem",
    "add",
    "dec_add",
    "dec_div",
    "dec_mul",
    "div",
    "frac_add",
    "frac_div",
    "frac_mul",
    "frac_times_whole",
    "integers",
    "mul",
    "order_of_operations",
    "rational",
    "sub",
]


@dataclass(frozen=True)
class Problem:
    op: str  # +, -, TIMES, DIVIDE or "mixed"
    a: F
    b: F
    expression: str  # as the learner reads it, e.g. "3/4 + 1/8"
    value: F
    distractors: tuple[F, ...]
    decimal: bool = False  # answers written as decimals
    signed: bool = False  # negative values are expected

    def text_of(self, value: F) -> str:
        return format_number(value, decimal=self.decimal)

    @property
    def difficulty(self) -> float:
        parts = [self.a, self.b, self.value]
        return float(sum(abs(p.numerator) + p.denominator for p in parts))


Maker = Callable[[random.Random], Problem]


def _num(v: F, decimal: bool = False) -> str:
    text = format_number(v, decimal=decimal)
    return f"({text})" if v < 0 else text


def _problem(
    op: str,
    a: F,
    b: F,
    mistakes: list[F],
    *,
    decimal: bool = False,
    signed: bool = False,
    expression: str | None = None,
) -> Problem:
    expr = expression or f"{format_number(a, decimal=decimal)} {op} {_num(b, decimal)}"
    value = evaluate(expr)  # the parser that checks items computes the key, too
    seen = {value}
    distractors = []
    fallbacks = [value + 1, value - 1, value + 2, value * 2, value + 10, value - 2]
    for m in [*mistakes, *fallbacks]:
        if m in seen or (m < 0 and not signed) or (m == 0 and value != 0 and not signed):
            continue
        if decimal and format_number(m, decimal=True).count("/"):
            continue  # a decimal skill offers decimals only
        seen.add(m)
        distractors.append(m)
    return Problem(op, a, b, expr, value, tuple(distractors), decimal, signed)


def _no_carry(a: int, b: int) -> int:
    """Column addition without carrying: 47 + 38 -> 75."""
    out, place = 0, 1
    while a or b:
        out += ((a % 10 + b % 10) % 10) * place
        a, b, place = a // 10, b // 10, place * 10
    return out


def _smaller_from_larger(a: int, b: int) -> int:
    """Column subtraction taking the smaller digit from the larger: 52 - 38 -> 26."""
    out, place = 0, 1
    while a or b:
        out += abs(a % 10 - b % 10) * place
        a, b, place = a // 10, b // 10, place * 10
    return out


def add(lo: int, hi: int, *, max_sum: int | None = None) -> Maker:
    def make(rng: random.Random) -> Problem:
        while True:
            a, b = rng.randint(lo, hi), rng.randint(lo, hi)
            if max_sum is None or a + b <= max_sum:
                break
        mistakes = [F(_no_carry(a, b)), F(a + b + 1), F(abs(a - b)), F(a + b - 10)]
        return _problem("+", F(a), F(b), mistakes)

    return make


def sub(lo: int, hi: int) -> Maker:
    def make(rng: random.Random) -> Problem:
        a, b = sorted((rng.randint(lo, hi), rng.randint(lo, hi)), reverse=True)
        if a == b:
            a += 1
        mistakes = [F(_smaller_from_larger(a, b)), F(a + b), F(a - b - 1), F(a - b + 10)]
        return _problem("-", F(a), F(b), mistakes)

    return make


def mul(a_range: tuple[int, int], b_range: tuple[int, int]) -> Maker:
    def make(rng: random.Random) -> Problem:
        a, b = rng.randint(*a_range), rng.randint(*b_range)
        mistakes = [F(a + b), F(a * (b - 1)), F((a + 1) * b), F(a * b + 10)]
        return _problem(TIMES, F(a), F(b), mistakes)

    return make


def div(q_range: tuple[int, int], d_range: tuple[int, int]) -> Maker:
    def make(rng: random.Random) -> Problem:
        q, d = rng.randint(*q_range), rng.randint(*d_range)
        a = q * d
        mistakes = [F(q + 1), F(q - 1), F(a - d), F(d)]
        return _problem(DIVIDE, F(a), F(d), mistakes)

    return make


def _fraction(rng: random.Random, dens: tuple[int, ...]) -> F:
    """A proper fraction in lowest terms."""
    d = rng.choice(dens)
    return F(rng.randint(1, d - 1), d)


def _frac_text(v: F) -> str:
    return f"{v.numerator}/{v.denominator}"


def frac_add(*, like: bool, subtract: bool = False) -> Maker:
    def make(rng: random.Random) -> Problem:
        while True:
            b = rng.choice((3, 4, 5, 6, 8, 10, 12))
            d = b if like else rng.choice((2, 3, 4, 5, 6, 8))
            a, c = rng.randint(1, b - 1), rng.randint(1, d - 1)
            x, y = F(a, b), F(c, d)
            lowest = F(a, b).denominator == b and F(c, d).denominator == d
            if lowest and (not subtract or x > y) and (like or b != d):
                break
        op = "-" if subtract else "+"
        expr = f"{a}/{b} {op} {c}/{d}"
        top = a - c if subtract else a + c
        mistakes = [
            F(top, b + d),  # added (or subtracted) straight across
            F(abs(top), b * d),  # multiplied the denominators, kept the numerators
            F(a * d + (-c if subtract else c), b * d),  # scaled one numerator only
            x + y if subtract else abs(x - y),  # the other operation
        ]
        return _problem(op, x, y, [m for m in mistakes if m > 0], expression=expr, decimal=False)

    return make


def frac_times_whole(rng: random.Random) -> Problem:
    b = rng.choice((2, 3, 4, 5, 6, 8, 10))
    a = rng.randint(1, b - 1)
    while F(a, b).denominator != b:
        a = rng.randint(1, b - 1)
    n = rng.randint(2, 9)
    mistakes = [F(a * n, b * n), F(a, b * n), F(a + n, b), F(a * n, b) + 1]
    return _problem(TIMES, F(a, b), F(n), mistakes, expression=f"{a}/{b} {TIMES} {n}")


def _two_fractions(rng: random.Random) -> tuple[F, F]:
    while True:
        x, y = _fraction(rng, (2, 3, 4, 5, 6, 8)), _fraction(rng, (2, 3, 4, 5, 6, 8))
        if x != y:
            return x, y


def frac_mul(rng: random.Random) -> Problem:
    x, y = _two_fractions(rng)
    a, b, c, d = x.numerator, x.denominator, y.numerator, y.denominator
    mistakes = [F(a * c, b + d), F(a + c, b + d), F(a * d, b * c), F(a * c, b)]
    expr = f"{_frac_text(x)} {TIMES} {_frac_text(y)}"
    return _problem(TIMES, x, y, mistakes, expression=expr)


def frac_div(rng: random.Random) -> Problem:
    x, y = _two_fractions(rng)
    a, b, c, d = x.numerator, x.denominator, y.numerator, y.denominator
    mistakes = [F(a * c, b * d), F(b * c, a * d), F(a, b) - F(c, d), F(a * d, b * c) + 1]
    expr = f"{_frac_text(x)} {DIVIDE} {_frac_text(y)}"
    return _problem(DIVIDE, x, y, [m for m in mistakes if m > 0], expression=expr)


def _dec(rng: random.Random, places: int, lo: int, hi: int) -> F:
    return F(rng.randint(lo * 10**places, hi * 10**places), 10**places)


def _misaligned(x: F, y: F, sign: int) -> F:
    """Decimals added (or subtracted) with their last digits lined up: 2.5 + 1.25 -> 1.50."""
    px, py = (len(format_number(v, decimal=True).partition(".")[2]) for v in (x, y))
    ix = int(format_number(x, decimal=True).replace(".", ""))
    iy = int(format_number(y, decimal=True).replace(".", ""))
    return F(ix + sign * iy, 10 ** max(px, py))


def dec_add(*, subtract: bool) -> Maker:
    def make(rng: random.Random) -> Problem:
        x, y = _dec(rng, rng.choice((1, 2)), 1, 20), _dec(rng, rng.choice((1, 2)), 1, 9)
        if subtract and y >= x:
            x, y = y + x, x
        sign = -1 if subtract else 1
        value = x + sign * y
        mistakes = [_misaligned(x, y, sign), value + F(1, 10), value - F(1, 10), value + 1]
        op = "-" if subtract else "+"
        return _problem(op, x, y, mistakes, decimal=True)

    return make


def dec_mul(rng: random.Random) -> Problem:
    x, n = _dec(rng, 1, 1, 9), F(rng.randint(2, 9))
    v = x * n
    return _problem(TIMES, x, n, [v * 10, v / 10, x + n, v + 1], decimal=True)


def dec_div(rng: random.Random) -> Problem:
    n = rng.randint(2, 8)
    q = _dec(rng, 1, 1, 9)
    x = q * n
    return _problem(DIVIDE, x, F(n), [q * 10, q / 10, x - n, q + 1], decimal=True)


def order_of_operations(rng: random.Random) -> Problem:
    a, b, c = rng.randint(2, 12), rng.randint(2, 9), rng.randint(2, 9)
    form = rng.randrange(3)
    if form == 0:
        expr, wrong = f"{a} + {b} {TIMES} {c}", F((a + b) * c)
    elif form == 1:
        expr, wrong = f"({a} + {b}) {TIMES} {c}", F(a + b * c)
    else:
        d = rng.randint(2, 6)
        expr, wrong = f"{a * d} {DIVIDE} {d} - {b} {TIMES} {c}", F(a * d) / d - b
        wrong *= c
    value = evaluate(expr)
    mistakes = [wrong, value + c, value - b, -value]
    return _problem("mixed", F(a), F(b), mistakes, signed=True, expression=expr)


def integers(ops: str) -> Maker:
    def make(rng: random.Random) -> Problem:
        op = rng.choice(ops)
        a = F(rng.choice([-1, 1]) * rng.randint(1, 15))
        b = F(rng.choice([-1, 1]) * rng.randint(1, 12))
        if op == DIVIDE:
            a = b * rng.randint(-9, 9) or b
        expr = f"{_num(a)} {op} {_num(b)}"
        value = evaluate(expr)
        mistakes = [-value, abs(a) + abs(b), (a - b) if op == "+" else (a + b), abs(value)]
        return _problem(op, a, b, mistakes, signed=True, expression=expr)

    return make


def rational(rng: random.Random) -> Problem:
    x = _fraction(rng, (2, 3, 4, 5, 6))
    y = F(rng.choice([-1, 1]) * rng.randint(1, 6))
    z = _fraction(rng, (2, 3, 4))
    expr = f"({_frac_text(x)} - {_num(y)}) {TIMES} {_frac_text(z)}"
    value = evaluate(expr)
    mistakes = [(x + y) * z, x - y * z, -value, (x - y) / z]
    return _problem("mixed", x, y, mistakes, signed=True, expression=expr)
