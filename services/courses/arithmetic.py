"""Exact arithmetic for worksheet items: a small parser, never ``eval``.

Expressions hold integers, decimals and fractions with ``+``, ``-`` (or the minus
sign U+2212), ``x``/``*`` (or the times sign U+00D7 and the middle dot), ``÷``/``/``
and parentheses; everything is computed with ``fractions.Fraction``,
so ``0.1 + 0.2 = 0.3`` holds exactly. ``3/4`` written without spaces between two
integers is a fraction literal and binds tighter than any operator, as on a
worksheet: ``3/4 ÷ 1/2`` is ``(3/4) ÷ (1/2)``; ``3 / 4`` with spaces is a division.

``check_item`` decides whether an item's answer is right: from the item's
``expression`` when it has one, else from an equation in its text with the
answer put in place of the placeholder (``7 + 5 = [blank]``, ``[blank] - 4 = 9``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from events.courses import PLACEHOLDER
from services.courses.errors import ArithmeticSyntaxError, DivisionByZero, NotANumber

__all__ = [
    "DIVIDE",
    "MINUS",
    "TIMES",
    "MathCheck",
    "check_equation",
    "check_expression",
    "evaluate",
    "format_number",
    "parse_number",
]

TIMES, DIVIDE, MINUS, MIDDOT = "\u00d7", "\u00f7", "\u2212", "\u00b7"
_MUL = frozenset("*xX" + TIMES + MIDDOT)
_DIV = frozenset("/" + DIVIDE)
_SIGNS = frozenset("+-" + MINUS)
_OPS = re.escape("".join(sorted(_MUL | _DIV | _SIGNS | {"(", ")"})))
_TOKEN = re.compile(
    r"\s*(?:(?P<frac>(?<![\d./])\d+/\d+(?![\d./]))|(?P<num>\d+(?:\.\d+)?|\.\d+)"
    rf"|(?P<op>[{_OPS}]))"
)
_NUMBER = re.compile(
    rf"^(?P<sign>[-+{MINUS}]?)\s*(?:"
    r"(?P<whole>\d+)\s+(?P<mn>\d+)/(?P<md>\d+)"  # mixed number: 1 1/2
    r"|(?P<n>\d+)/(?P<d>\d+)"  # fraction: 3/4
    r"|(?P<grouped>\d{1,3}(?:,\d{3})+)(?P<gfrac>\.\d+)?"  # 16,777,214
    r"|(?P<dec>\d+(?:\.\d*)?|\.\d+)"  # 12, 3.75, .5
    r")$"
)
# What may appear in the arithmetic next to an '=' ("§" stands for the placeholder).
_ARITH_CHARS = frozenset("0123456789.,() §") | _MUL | _DIV | _SIGNS
_LEADING_JUNK = re.compile(rf"^[\s,.{re.escape(''.join(sorted(_MUL | _DIV | {'+'})))}]+")
_TRAILING_JUNK = re.compile(rf"[\s,.{re.escape(''.join(sorted(_MUL | _DIV | _SIGNS)))}]+$")
_SLOT = "§"


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ArithmeticSyntaxError(text, pos, f"unexpected {text[pos:].strip()[:10]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def fail(self, why: str) -> ArithmeticSyntaxError:
        return ArithmeticSyntaxError(self.text, self.i, why)

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise self.fail("the expression ends too early")
        self.i += 1
        return tok

    def parse(self) -> Fraction:
        if not self.toks:
            raise self.fail("empty expression")
        value = self.expr()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return value

    def expr(self) -> Fraction:
        value = self.term()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in _SIGNS:
            self.take()
            rhs = self.term()
            value = value + rhs if tok[1] == "+" else value - rhs
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in _MUL | _DIV:
            self.take()
            rhs = self.unary()
            if tok[1] in _MUL:
                value *= rhs
            elif rhs == 0:
                raise DivisionByZero(self.text, self.i, "division by zero")
            else:
                value /= rhs
        return value

    def unary(self) -> Fraction:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in _SIGNS:
            self.take()
            inner = self.unary()
            return inner if tok[1] == "+" else -inner
        return self.primary()

    def primary(self) -> Fraction:
        kind, text = self.take()
        if kind == "num":
            return Fraction(text)
        if kind == "frac":
            n, d = text.split("/")
            if int(d) == 0:
                raise DivisionByZero(self.text, self.i, f"fraction {text} has a zero denominator")
            return Fraction(int(n), int(d))
        if text == "(":
            value = self.expr()
            close = self.take()
            if close != ("op", ")"):
                raise self.fail("missing ')'")
            return value
        raise self.fail(f"expected a number, got {text!r}")


def evaluate(text: str) -> Fraction:
    """The exact value of an arithmetic expression; ``ArithmeticSyntaxError`` otherwise."""
    return _Parser(text).parse()


def parse_number(text: str) -> Fraction:
    """An answer as a number: ``12``, ``-3``, ``3.75``, ``.5``, ``3/4``, ``1 1/2``,
    ``16,777,214``."""
    m = _NUMBER.match(text.strip())
    if m is None:
        raise NotANumber(text)
    if m["whole"] is not None:
        if int(m["md"]) == 0:
            raise NotANumber(text)
        value = int(m["whole"]) + Fraction(int(m["mn"]), int(m["md"]))
    elif m["n"] is not None:
        if int(m["d"]) == 0:
            raise NotANumber(text)
        value = Fraction(int(m["n"]), int(m["d"]))
    elif m["grouped"] is not None:
        value = Fraction(m["grouped"].replace(",", "") + (m["gfrac"] or ""))
    else:
        value = Fraction(m["dec"])
    return -value if m["sign"] in ("-", MINUS) else value


def format_number(value: Fraction, *, decimal: bool = False) -> str:
    """``value`` as a worksheet writes it: an integer, an exact decimal (when asked and
    possible), or a fraction ``p/q`` in lowest terms."""
    if value.denominator == 1:
        return str(value.numerator)
    if decimal:
        d, twos, fives = value.denominator, 0, 0
        while d % 2 == 0:
            d, twos = d // 2, twos + 1
        while d % 5 == 0:
            d, fives = d // 5, fives + 1
        if d == 1:
            places = max(twos, fives)
            scaled = abs(value) * 10**places
            digits = str(scaled.numerator).rjust(places + 1, "0")
            sign = "-" if value < 0 else ""
            return f"{sign}{digits[:-places]}.{digits[-places:]}"
    return f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True)
class MathCheck:
    """What the checker found: ``unchecked`` when the item holds no arithmetic it can read."""

    status: Literal["correct", "wrong", "unchecked"]
    expected: Fraction | None = None
    work: str = ""  # the arithmetic that was checked
    message: str = ""


def check_expression(expression: str, answer: str) -> MathCheck:
    """Whether ``answer`` is the value of ``expression``."""
    try:
        expected = evaluate(expression)
    except DivisionByZero as exc:
        return MathCheck("wrong", None, expression.strip(), str(exc))
    except ArithmeticSyntaxError as exc:
        return MathCheck("unchecked", message=str(exc))
    return _compare(expected, answer, expression.strip())


def _compare(expected: Fraction, answer: str, work: str) -> MathCheck:
    try:
        given = parse_number(answer)
    except NotANumber:
        return MathCheck(
            "wrong",
            expected,
            work,
            f"{work} = {format_number(expected, decimal=True)}, "
            f"but the answer {answer.strip()!r} is not a number",
        )
    if given == expected:
        return MathCheck("correct", expected, work)
    return MathCheck(
        "wrong",
        expected,
        work,
        f"{work} = {format_number(expected, decimal=True)}, but the answer is {answer.strip()}",
    )


def _segment(side: str, *, prose_first: bool) -> str:
    """The arithmetic right next to the '=': scanned outwards until a character that
    cannot belong to it, then trimmed of the prose's dangling operators, punctuation
    and unmatched parentheses (``prose_first``: the prose is before the arithmetic)."""
    chars = reversed(side) if prose_first else iter(side)
    kept = []
    for ch in chars:
        if ch not in _ARITH_CHARS:
            break
        kept.append(ch)
    seg = "".join(reversed(kept) if prose_first else kept).strip()
    if prose_first:
        while True:
            seg = _LEADING_JUNK.sub("", seg)
            opened = seg.count("(") > seg.count(")")
            if seg[:1] == ")" or (seg[:1] == "(" and opened):
                seg = seg[1:]
                continue
            return seg.strip()
    while True:
        seg = _TRAILING_JUNK.sub("", seg)
        closed = seg.count(")") > seg.count("(")
        if seg[-1:] == "(" or (seg[-1:] == ")" and closed):
            seg = seg[:-1]
            continue
        return seg.strip()


def check_equation(text: str, answer: str) -> MathCheck:
    """Whether putting ``answer`` in the placeholder makes the equation in ``text`` true."""
    if len(PLACEHOLDER.findall(text)) != 1 or text.count("=") != 1:
        return MathCheck("unchecked", message="no single equation with one placeholder")
    slotted = PLACEHOLDER.sub(_SLOT, text)
    left, right = slotted.split("=")
    lhs, rhs = _segment(left, prose_first=True), _segment(right, prose_first=False)
    if not lhs or not rhs or (_SLOT in lhs) == (_SLOT in rhs):
        return MathCheck("unchecked", message="the placeholder is not in the equation")
    known, unknown = (rhs, lhs) if _SLOT in lhs else (lhs, rhs)
    work = f"{lhs} = {rhs}".replace(_SLOT, answer.strip())
    try:
        expected_side = evaluate(known)
        if unknown.strip() == _SLOT:
            return _compare(expected_side, answer, known)
        value = parse_number(answer)
        filled = evaluate(unknown.replace(_SLOT, f"({format_number(value)})"))
    except DivisionByZero as exc:
        return MathCheck("wrong", None, work, str(exc))
    except ArithmeticSyntaxError as exc:
        return MathCheck("unchecked", message=str(exc))
    except NotANumber:
        return MathCheck("wrong", None, work, f"answer {answer!r} is not a number")
    if filled == expected_side:
        return MathCheck("correct", value, work)
    return MathCheck("wrong", None, work, f"{work} does not hold")
