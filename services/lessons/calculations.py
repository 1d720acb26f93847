"""Worked calculations, computed exactly, for a lesson's worked example and practice.

Two sources, never guessed numbers:

- the pack's declared calculations (IPv4 and IPv6 addressing) through the JIT
  calculators (``ipaddress``);
- electrical relations a concept teaches (Ohm's law, power and design current,
  voltage drop), recognised from its text and computed with exact fractions;
  tabulated values are BS 7671's mV/A/m for flat twin-and-earth cable
  (70 °C thermoplastic, Table 4D5) and its voltage-drop limits (3 % lighting,
  5 % other uses, of 230 V).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from fractions import Fraction

from events.content import Calculation
from events.lessons import MaterialConcept
from services.lessons.text import normalise
from services.remediation.calculators import numeric_items

__all__ = ["WorkedCalculation", "calculations_for", "exact", "teaches_calculation"]

NOMINAL_V = 230
MV_PER_A_M: dict[Fraction, Fraction] = {
    Fraction(15, 10): Fraction(29),
    Fraction(25, 10): Fraction(18),
    Fraction(4): Fraction(11),
    Fraction(6): Fraction(73, 10),
    Fraction(10): Fraction(44, 10),
}
TIMES = "\u00d7"  # the multiplication sign, as the formulas are printed
LOADS = (
    ("immersion heater", 3000),
    ("electric shower", 9200),
    ("cooker", 7200),
    ("EV charger", 7000),
)


@dataclass(frozen=True, slots=True)
class WorkedCalculation:
    title: str
    formula: str
    given: str
    question: str
    steps: tuple[tuple[str, str, str], ...]  # description, working, result
    answer: str  # the exact result with its unit
    variants: tuple[str, ...] = ()  # accepted spellings of the answer


def exact(value: Fraction, unit: str = "") -> str:
    """``Fraction(300, 23)`` -> ``13.04``, ``Fraction(23, 2)`` -> ``11.5``: at most two places."""
    if value.denominator == 1:
        text = str(value.numerator)
    else:
        text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip() if unit else text


def _text(c: MaterialConcept) -> str:
    parts = [c.name, c.definition or "", *(f.statement for f in c.facts)]
    return normalise(" ".join(parts))


_KINDS = {
    "voltage_drop": re.compile(r"voltage drop|volt drop|mv/a/m"),
    "power": re.compile(r"\bpower\b|design current|\bwatts?\b|\bkw\b|p = v"),
    "ohms_law": re.compile(r"ohm'?s law|\bresistance\b|v = i"),
}


def _electrical_kinds(c: MaterialConcept) -> list[str]:
    text = _text(c)
    declared = " ".join(x.value for x in c.calculations)
    return [k for k, pattern in _KINDS.items() if pattern.search(text) or k in declared]


def teaches_calculation(c: MaterialConcept) -> bool:
    return bool(_networking(c)) or bool(_electrical_kinds(c))


def _networking(c: MaterialConcept) -> list[Calculation]:
    known = set(Calculation)
    return [x for x in c.calculations if x in known and not _electrical_name(x.value)]


def _electrical_name(value: str) -> bool:
    return any(k in value for k in _KINDS) or "current" in value


# Currents and resistances met on 230 V and along cables, so every result is realistic.
_OHMS = (
    (Fraction(5), Fraction(46)),
    (Fraction(10), Fraction(23)),
    (Fraction(2), Fraction(115)),
    (Fraction(20), Fraction(1, 2)),
    (Fraction(13), Fraction(3, 10)),
)


def _ohms_law(rng: random.Random) -> WorkedCalculation:
    current, resistance = rng.choice(_OHMS)
    volts = current * resistance
    i, r, v = exact(current), exact(resistance), exact(volts)
    form = rng.choice(("V", "I", "R"))
    if form == "V":
        given = f"A current of {i} A flows through a resistance of {r} Ω."
        question = f"What voltage is across a {r} Ω resistance carrying {i} A?"
        rule, working, answer = f"V = I {TIMES} R", f"V = {i} A {TIMES} {r} Ω", exact(volts, "V")
    elif form == "I":
        given = f"A resistance of {r} Ω has {v} V across it."
        question = f"What current flows through a {r} Ω resistance with {v} V across it?"
        rule, working, answer = "I = V ÷ R", f"I = {v} V ÷ {r} Ω", exact(current, "A")
    else:
        given = f"A load draws {i} A with {v} V across it."
        question = f"What is the resistance of a load that draws {i} A with {v} V across it?"
        rule, working, answer = "R = V ÷ I", f"R = {v} V ÷ {i} A", exact(resistance, "Ω")
    number = answer.split()[0]
    return WorkedCalculation(
        title="Ohm's law",
        formula=f"V = I {TIMES} R",
        given=given,
        question=question,
        steps=(
            ("Write down Ohm's law for the unknown", f"V = I {TIMES} R", rule),
            ("Substitute the values", working, answer),
            ("State the answer with its unit", answer, answer),
        ),
        answer=answer,
        variants=(number, answer.replace(" ", "")),
    )


def _power(rng: random.Random) -> WorkedCalculation:
    name, watts = rng.choice(LOADS)
    amps = Fraction(watts, NOMINAL_V)
    kw = exact(Fraction(watts, 1000))
    return WorkedCalculation(
        title="Design current from power",
        formula="Ib = P ÷ V",
        given=f"A {kw} kW {name} is supplied at {NOMINAL_V} V.",
        question=f"What is the design current of a {kw} kW {name} supplied at {NOMINAL_V} V?",
        steps=(
            (f"Rearrange P = V {TIMES} I for the current", "I = P ÷ V", "Ib = P ÷ V"),
            ("Convert the power to watts", f"{kw} kW {TIMES} 1000", f"{watts} W"),
            (
                "Divide by the supply voltage",
                f"{watts} W ÷ {NOMINAL_V} V",
                f"Ib = {exact(amps, 'A')}",
            ),
        ),
        answer=exact(amps, "A"),
        variants=(exact(amps), f"{exact(amps)}A"),
    )


def _voltage_drop(rng: random.Random) -> WorkedCalculation:
    csa = rng.choice(sorted(MV_PER_A_M))
    mv = MV_PER_A_M[csa]
    current = rng.choice([10, 16, 20, 25])
    length = rng.choice([12, 18, 25, 30])
    drop = mv * current * length / 1000
    limit = Fraction(NOMINAL_V * 5, 100)
    ok = "within" if drop <= limit else "over"
    size = exact(csa)
    return WorkedCalculation(
        title="Voltage drop in a final circuit",
        formula=f"VD = (mV/A/m {TIMES} Ib {TIMES} L) ÷ 1000",
        given=(
            f"A {size} mm² twin-and-earth cable ({exact(mv)} mV/A/m) carries {current} A "
            f"over {length} m."
        ),
        question=(
            f"What is the voltage drop in {length} m of {size} mm² twin-and-earth cable "
            f"({exact(mv)} mV/A/m) carrying {current} A?"
        ),
        steps=(
            ("Write down the formula", f"VD = (mV/A/m {TIMES} Ib {TIMES} L) ÷ 1000", "VD in volts"),
            (
                "Substitute the values",
                f"({exact(mv)} {TIMES} {current} {TIMES} {length}) ÷ 1000",
                f"VD = {exact(drop, 'V')}",
            ),
            (
                "Compare with the 5 % limit for other uses",
                f"5 % of {NOMINAL_V} V = {exact(limit, 'V')}",
                f"{exact(drop, 'V')} is {ok} the limit",
            ),
        ),
        answer=exact(drop, "V"),
        variants=(exact(drop), f"{exact(drop)}V"),
    )


_ELECTRICAL = {"ohms_law": _ohms_law, "power": _power, "voltage_drop": _voltage_drop}


def calculations_for(c: MaterialConcept, seed: str, count: int = 3) -> list[WorkedCalculation]:
    """Up to ``count`` exact calculations the concept teaches, in a fixed order for ``seed``."""
    out: list[WorkedCalculation] = []
    for calc in _networking(c):
        for item in numeric_items(calc, f"{seed}:{c.slug}")[:count]:
            out.append(
                WorkedCalculation(
                    title=f"{c.name}: {calc.value.replace('_', ' ')}",
                    formula=item.working,
                    given=f"Given {item.given}.",
                    question=item.question,
                    steps=(
                        ("Identify what is given", item.given, item.given),
                        ("Apply the rule", item.working, item.answer),
                        ("State the answer", item.answer, item.answer),
                    ),
                    answer=item.answer,
                )
            )
    rng = random.Random(f"{seed}:{c.slug}")
    for kind in _electrical_kinds(c):
        for _ in range(count):
            out.append(_ELECTRICAL[kind](rng))
    unique: dict[str, WorkedCalculation] = {}
    for w in out:
        unique.setdefault(w.question, w)
    return list(unique.values())[: max(count, 1) * 2]
