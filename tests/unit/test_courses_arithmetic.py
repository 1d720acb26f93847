"""The exact arithmetic checker: examples, and properties against Python's fractions."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.courses.arithmetic import (
    DIVIDE,
    MINUS,
    TIMES,
    check_equation,
    check_expression,
    evaluate,
    format_number,
    parse_number,
)
from services.courses.errors import ArithmeticSyntaxError, DivisionByZero, NotANumber

pytestmark = pytest.mark.unit


def test_the_seeds_example_needs_12() -> None:
    assert check_equation("7 + 5 = [blank]", "12").status == "correct"
    wrong = check_equation("7 + 5 = [blank]", "13")
    assert wrong.status == "wrong"
    assert wrong.message == "7 + 5 = 12, but the answer is 13"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1 + 0.2", F(3, 10)),
        (f"3/4 {DIVIDE} 1/2", F(3, 2)),  # fraction literals bind tighter than ÷
        ("3 / 4", F(3, 4)),
        ("2.5 x 4", F(10)),
        (f"(3 + 4) {TIMES} 2", F(14)),
        ("3 + 4 * 2", F(11)),
        (f"7 {MINUS} 10", F(-3)),
        ("-3 - -4", F(1)),
        ("6/3/2", F(1)),  # not a fraction literal: left to right
        (f"(1/2 - (-3)) {TIMES} 2/3", F(7, 3)),
        (".5 + 1", F(3, 2)),
    ],
)
def test_integers_decimals_and_fractions_are_exact(text: str, value: F) -> None:
    assert evaluate(text) == value


@pytest.mark.parametrize(
    "text", ["__import__('os')", "2 ** 3", "7 +", "(1 + 2", "1 2", "", "2(3)", "x 7"]
)
def test_anything_but_arithmetic_is_refused_never_evaluated(text: str) -> None:
    with pytest.raises(ArithmeticSyntaxError):
        evaluate(text)


def test_division_by_zero_is_refused_and_a_wrong_item() -> None:
    with pytest.raises(DivisionByZero):
        evaluate(f"5 {DIVIDE} (2 - 2)")
    assert check_equation("5 ÷ 0 = [blank]", "5").status == "wrong"
    assert check_expression("3/0 + 1", "1").status == "wrong"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", F(12)),
        ("-3", F(-3)),
        (f"{MINUS}3", F(-3)),
        ("3.75", F(15, 4)),
        (".5", F(1, 2)),
        ("3/4", F(3, 4)),
        ("-3/4", F(-3, 4)),
        ("1 1/2", F(3, 2)),
        ("16,777,214", F(16_777_214)),
        (" 7 ", F(7)),
    ],
)
def test_answers_are_read_as_numbers(text: str, value: F) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["twelve", "1/0", "1,2345", "3.4.5", "", "7 + 5", "1e3"])
def test_what_is_no_number_is_said_to_be_none(text: str) -> None:
    with pytest.raises(NotANumber):
        parse_number(text)


@pytest.mark.parametrize(
    ("text", "answer", "status"),
    [
        ("Compute 7 + 5 = [blank].", "12", "correct"),
        ("Evaluate: 2 x (3 + 4) = _", "14", "correct"),
        ("Max 7 + 5 = _", "12", "correct"),  # the 'x' of the prose is not the operator
        ("Solve (carefully) 7 + 5 = [blank]", "12", "correct"),
        ("[blank] - 4 = 9", "13", "correct"),  # the blank on the left
        ("[blank] - 4 = 9", "5", "wrong"),
        ("3/4 + 1/8 = [blank]", "0.875", "correct"),  # any exact form of the value
        ("3/4 + 1/8 = [blank]", "7/8", "correct"),
        ("3/4 + 1/8 = [blank]", "4/12", "wrong"),
        ("HSRP sends hellos every [blank] seconds.", "3", "unchecked"),
        ("A = [blank] and B = 2", "1", "unchecked"),
        ("7 + 5 = [blank] or [blank]", "12", "unchecked"),
        ("Routers with M=1 use [blank] DHCPv6.", "stateful", "unchecked"),
    ],
)
def test_equations_in_item_texts(text: str, answer: str, status: str) -> None:
    assert check_equation(text, answer).status == status


def test_a_non_numeric_answer_to_arithmetic_is_wrong() -> None:
    found = check_expression("7 + 5", "twelve")
    assert found.status == "wrong" and "'twelve' is not a number" in found.message


def test_numbers_are_written_as_a_worksheet_writes_them() -> None:
    assert format_number(F(12)) == "12"
    assert format_number(F(15, 4)) == "15/4"
    assert format_number(F(15, 4), decimal=True) == "3.75"
    assert format_number(F(-1, 8), decimal=True) == "-0.125"
    assert format_number(F(1, 3), decimal=True) == "1/3"  # no exact decimal
    assert format_number(F(1, 20), decimal=True) == "0.05"


# Properties -------------------------------------------------------------------------------
_leaves = st.one_of(
    st.integers(0, 999).map(lambda n: (str(n), F(n))),
    st.tuples(st.integers(0, 9999), st.integers(1, 3)).map(
        lambda t: (format_number(F(t[0], 10 ** t[1]), decimal=True), F(t[0], 10 ** t[1]))
    ),
    st.tuples(st.integers(1, 20), st.integers(2, 20)).map(
        lambda t: (f"{t[0]}/{t[1]}", F(t[0], t[1]))
    ),
)
_SYMBOLS = {
    "+": ("+",),
    "-": ("-", MINUS),
    "*": ("*", "x", TIMES),
    "/": ("/", DIVIDE),
}


def _combine(parts: tuple[tuple[str, F], str, tuple[str, F], int]) -> tuple[str, F]:
    (lt, lv), op, (rt, rv), pick = parts
    if op == "/" and rv == 0:
        op = "+"
    symbol = _SYMBOLS[op][pick % len(_SYMBOLS[op])]
    value = {"+": lv + rv, "-": lv - rv, "*": lv * rv, "/": lv / rv if rv else lv}[op]
    return f"({lt}) {symbol} ({rt})", value


def _negate(part: tuple[str, F]) -> tuple[str, F]:
    return f"-({part[0]})", -part[1]


expressions = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from("+-*/"), inner, st.integers(0, 2)).map(_combine),
        inner.map(_negate),
    ),
    max_leaves=6,
)
nonzero = st.fractions(min_value=-1000, max_value=1000, max_denominator=50).filter(bool)


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_the_parser_agrees_with_pythons_fractions(expr: tuple[str, F]) -> None:
    text, value = expr
    assert evaluate(text) == value


@settings(max_examples=300, deadline=None)
@given(expressions, st.booleans())
def test_the_right_answer_is_accepted_in_any_exact_form(expr: tuple[str, F], dec: bool) -> None:
    text, value = expr
    answer = format_number(value, decimal=dec)
    assert check_equation(f"{text} = [blank]", answer).status == "correct"
    assert check_expression(text, answer).status == "correct"


@settings(max_examples=300, deadline=None)
@given(expressions, nonzero)
def test_every_perturbed_answer_is_rejected(expr: tuple[str, F], delta: F) -> None:
    text, value = expr
    wrong = format_number(value + delta, decimal=True)
    assume(parse_number(wrong) != value)
    assert check_equation(f"Compute {text} = [blank].", wrong).status == "wrong"
    assert check_expression(text, wrong).status == "wrong"


@settings(max_examples=200, deadline=None)
@given(expressions, st.integers(-50, 50), nonzero)
def test_a_blank_inside_the_equation_is_solved_by_substitution(
    expr: tuple[str, F], k: int, delta: F
) -> None:
    text, value = expr
    equation = f"[blank] + ({text}) = {format_number(value + k)}"
    assert check_equation(equation, str(k)).status == "correct"
    assert check_equation(equation, format_number(F(k) + delta)).status == "wrong"
