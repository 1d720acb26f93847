"""The C&G 2365 content pack: it loads, it covers the lessons the seed teaches, and
every worked number in it recomputes from its inputs.

The arithmetic is written out here, independently of the pack's wording: each
worked fact names the inputs its statement must show and the value Python gets
from them (exact fractions; rounded half up only where the statement says ≈).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction as Q
from functools import cache
from pathlib import Path

import pytest

from events.content import (
    AtomType,
    ClozeBody,
    ConceptImported,
    ContentType,
    Fact,
    FlashcardBody,
    McqBody,
)
from services.content.pack import Pack, concept_uuid, load_pack
from services.remediation.rules import AtomTask, make_atoms
from services.remediation.verify import problems

pytestmark = pytest.mark.unit

PACK = Path(__file__).resolve().parents[2] / "packs" / "cg2365"


@cache
def pack() -> Pack:
    return load_pack(PACK)


def concept(slug: str) -> ConceptImported:
    return next(c for c in pack().concepts if c.slug == slug)


def fact(slug: str, attribute: str) -> Fact:
    return next(f for f in concept(slug).facts if f.attribute == attribute)


def stated(value: str) -> tuple[Q, int, str]:
    """'13.04 A' -> (1304/100, 2 decimal places, 'A')."""
    number, _, unit = value.partition(" ")
    places = len(number.partition(".")[2])
    return Q(number), places, unit


def rounded(x: Q | float, places: int) -> Q:
    exact = Decimal(x.numerator) / Decimal(x.denominator) if isinstance(x, Q) else Decimal(x)
    return Q(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


# worked facts ------------------------------------------------------------------------
@dataclass(frozen=True)
class Worked:
    slug: str
    attribute: str
    given: tuple[str, ...]  # the inputs as the statement writes them
    result: Q | float  # computed here from those inputs
    unit: str


SQRT3 = math.sqrt(3)
TIMES = "\u00d7"  # the pack writes products as textbooks do, with a multiplication sign
RHO_COPPER = Q(172, 100) / 10**8  # Ω m
R_2_5, R_1_5, R_1_0 = Q("7.41"), Q("12.10"), Q("18.10")  # mΩ/m at 20 °C
CMIN, U0 = Q("0.95"), 230


def max_zs(multiple: int, rating: int) -> Q:
    """BS 7671 maximum Zs for an MCB: Cmin * U0 / (its instantaneous trip current)."""
    return CMIN * U0 / (multiple * rating)


WORKED = [
    Worked(
        "ohms-law", "current drawn by a 46 Ω element on 230 V", ("46 Ω", "230 V"), Q(230) / 46, "A"
    ),
    Worked(
        "ohms-law",
        "resistance of a load drawing 10 A from 230 V",
        ("10 A", "230 V"),
        Q(230) / 10,
        "Ω",
    ),
    Worked("ohms-law", "voltage across 0.5 Ω carrying 20 A", ("20 A", "0.5 Ω"), 20 * Q("0.5"), "V"),
    Worked(
        "electrical-power", "power of a 13 A load at 230 V", ("13 A", "230 V"), Q(230 * 13), "W"
    ),
    Worked(
        "electrical-power",
        "heat in a 0.2 Ω connection carrying 20 A",
        ("0.2 Ω", "20 A"),
        20**2 * Q("0.2"),
        "W",
    ),
    Worked(
        "electrical-power",
        "power of a 52.9 Ω element on 230 V",
        ("52.9 Ω", "230 V"),
        Q(230**2) / Q("52.9"),
        "W",
    ),
    Worked(
        "electrical-power",
        "energy used by a 3 kW heater in 2 hours",
        ("3 kW", "2 hours"),
        Q(3 * 2),
        "kWh",
    ),
    Worked(
        "conductor-resistance",
        "resistance of 100 m of 2.5 mm² copper",
        ("100 m", "2.5 mm²", "1.72"),
        RHO_COPPER * 100 / (Q("2.5") / 10**6),
        "Ω",
    ),
    Worked(
        "series-resistance",
        "total of 10 Ω, 20 Ω and 30 Ω",
        ("10 Ω", "20 Ω", "30 Ω"),
        Q(10 + 20 + 30),
        "Ω",
    ),
    Worked(
        "parallel-resistance",
        "total of two 10 Ω resistors",
        ("Two 10 Ω",),
        1 / (Q(1, 10) + Q(1, 10)),
        "Ω",
    ),
    Worked(
        "parallel-resistance",
        "combined insulation resistance of 200 MΩ, 300 MΩ and 600 MΩ",
        ("200 MΩ", "300 MΩ", "600 MΩ"),
        1 / (Q(1, 200) + Q(1, 300) + Q(1, 600)),
        "MΩ",
    ),
    Worked(
        "design-current",
        "design current of a 9.2 kW shower at 230 V",
        ("9.2 kW", "230 V"),
        Q(9200) / 230,
        "A",
    ),
    Worked(
        "design-current",
        "design current of a 3 kW immersion heater at 230 V",
        ("3 kW", "230 V"),
        Q(3000) / 230,
        "A",
    ),
    Worked(
        "design-current",
        "design current of a 10 kW three-phase heater at 400 V",
        ("10 kW", "400 V", "unity power factor"),
        10_000 / (SQRT3 * 400 * 1.0),
        "A",
    ),
    Worked(
        "diversity",
        "full-load current of an 11.5 kW cooker at 230 V",
        ("11.5 kW", "230 V"),
        Q(11_500) / 230,
        "A",
    ),
    Worked(
        "diversity",
        "assessed current of an 11.5 kW cooker",
        ("50 A", "10 +", "0.3"),
        10 + Q(3, 10) * (Q(11_500) / 230 - 10),
        "A",
    ),
    Worked(
        "diversity",
        "assessed current of an 11.5 kW cooker with a socket in the control unit",
        ("10 +", "0.3", "40 + 5"),
        10 + Q(3, 10) * (Q(11_500) / 230 - 10) + 5,
        "A",
    ),
    Worked("voltage-drop", "lighting limit at 230 V", ("230", "3 %"), Q(230) * 3 / 100, "V"),
    Worked("voltage-drop", "other uses limit at 230 V", ("230", "5 %"), Q(230) * 5 / 100, "V"),
    Worked(
        "voltage-drop",
        "drop for 20 A over 30 m of 2.5 mm²",
        ("20 A", "30 m", "18 mV/A/m"),
        Q(18 * 20 * 30) / 1000,
        "V",
    ),
    Worked(
        "voltage-drop",
        "drop for 5 A over 40 m of 1.5 mm² lighting cable",
        ("5 A", "40 m", "29 mV/A/m"),
        Q(29 * 5 * 40) / 1000,
        "V",
    ),
    Worked(
        "voltage-drop",
        "maximum length of 2.5 mm² cable for a 20 A load",
        ("20 A", "11.5", "18"),
        Q("11.5") * 1000 / (18 * 20),
        "m",
    ),
    Worked(
        "cable-sizing",
        "It for a 32 A device with Ca 0.94 and Cg 0.8",
        ("32 A", "Ca = 0.94", "Cg = 0.8"),
        32 / (Q("0.94") * Q("0.8")),
        "A",
    ),
    Worked(
        "correction-factors",
        "It for a 20 A device with Ca 0.94 and three circuits bunched",
        ("20 A", "Ca = 0.94", "Cg = 0.70"),
        20 / (Q("0.94") * Q("0.70")),
        "A",
    ),
    Worked("tt", "maximum RA with a 100 mA RCD", ("100 mA", "50 ÷"), Q(50) / Q("0.1"), "Ω"),
    Worked(
        "earth-fault-loop-impedance",
        "Zs for Ze 0.35 Ω and R1 + R2 of 0.45 Ω",
        ("Ze = 0.35 Ω", "R1 + R2 = 0.45 Ω"),
        Q("0.35") + Q("0.45"),
        "Ω",
    ),
    Worked(
        "earth-fault-loop-impedance",
        "maximum Zs for a B32 MCB",
        ("32 A", "0.95", "230"),
        max_zs(5, 32),
        "Ω",
    ),
    Worked(
        "earth-fault-loop-impedance",
        "maximum Zs for a B16 MCB",
        ("16 A", "0.95", "230"),
        max_zs(5, 16),
        "Ω",
    ),
    Worked(
        "earth-fault-loop-impedance",
        "maximum Zs for a B6 MCB",
        ("6 A", "0.95", "230"),
        max_zs(5, 6),
        "Ω",
    ),
    Worked("mcb-type-b", "maximum Zs for a 32 A device", ("32 A", "÷ 160"), max_zs(5, 32), "Ω"),
    Worked("mcb-type-c", "maximum Zs for a 32 A device", ("32 A", "÷ 320"), max_zs(10, 32), "Ω"),
    Worked("mcb-type-d", "maximum Zs for a 32 A device", ("32 A", "÷ 640"), max_zs(20, 32), "Ω"),
    Worked(
        "continuity-of-protective-conductors",
        "R1 + R2 per metre of 2.5/1.5 mm² twin and earth",
        ("7.41", "12.10"),
        R_2_5 + R_1_5,
        "mΩ/m",
    ),
    Worked(
        "continuity-of-protective-conductors",
        "expected R1 + R2 for 20 m of 2.5/1.5 mm² twin and earth",
        ("20 m", "19.51"),
        20 * (R_2_5 + R_1_5) / 1000,
        "Ω",
    ),
    Worked(
        "continuity-of-protective-conductors",
        "expected R1 + R2 for 30 m of 1.0 mm² twin and earth",
        ("30 m", "36.20"),
        30 * (R_1_0 + R_1_0) / 1000,
        "Ω",
    ),
    Worked(
        "ring-final-circuit-test",
        "ratio of r2 to r1 for 2.5/1.5 mm² cable",
        ("2.5 ÷ 1.5",),
        Q("2.5") / Q("1.5"),
        "",
    ),
    Worked(
        "ring-final-circuit-test",
        "step 3 reading for r1 0.52 Ω and r2 0.86 Ω",
        ("r1 = 0.52 Ω", "r2 = 0.86 Ω"),
        (Q("0.52") + Q("0.86")) / 4,
        "Ω",
    ),
    Worked(
        "ring-final-circuit-test",
        "step 2 reading for r1 and rn of 0.52 Ω",
        ("r1 = rn = 0.52 Ω",),
        (Q("0.52") + Q("0.52")) / 4,
        "Ω",
    ),
    Worked(
        "rcd-test", f"test current at 5 {TIMES} IΔn for a 30 mA RCD", ("30 mA",), Q(5 * 30), "mA"
    ),
    Worked(
        "prospective-fault-current",
        "PFC for a loop impedance of 0.23 Ω",
        ("0.23 Ω", "230 V"),
        Q(230) / Q("0.23"),
        "A",
    ),
    Worked(
        "prospective-fault-current",
        "PFC for a loop impedance of 0.8 Ω",
        ("0.8 Ω", "230 V"),
        Q(230) / Q("0.8"),
        "A",
    ),
    Worked(
        "safe-isolation-procedure",
        "number of combinations tested on a three-phase four-wire circuit",
        ("L1, L2, L3, neutral and earth",),
        Q(math.comb(5, 2)),
        "",
    ),
]


def check(value: str, statement: str, result: Q | float, unit: str) -> None:
    number, places, stated_unit = stated(value)
    assert stated_unit == unit, (value, unit)
    if isinstance(result, Q) and result == number:
        return
    # Not exact: the statement must say so, and the value is the result rounded half up.
    assert "≈" in statement or "about" in statement, statement
    assert rounded(result, places) == number, (value, float(result))


@pytest.mark.parametrize("w", WORKED, ids=lambda w: f"{w.slug}:{w.attribute}")
def test_every_worked_fact_recomputes_from_its_inputs(w: Worked) -> None:
    f = fact(w.slug, w.attribute)
    for given in w.given:
        assert given in f.statement, (given, f.statement)
    check(f.value, f.statement, w.result, w.unit)


def is_worked(f: Fact) -> bool:
    """A statement that shows arithmetic ending in the value, as opposed to a formula."""
    shows_result = " = " in f.statement or " ≈ " in f.statement
    computes = any(op in f.statement for op in ("÷", TIMES, " + "))
    return shows_result and computes and "=" not in f.value and f.value[0].isdigit()


def test_no_worked_fact_goes_unchecked() -> None:
    checked = {(w.slug, w.attribute) for w in WORKED}
    found = {(c.slug, f.attribute) for c in pack().concepts for f in c.facts if is_worked(f)}
    assert found, "the pack has worked calculations"
    assert found <= checked, sorted(found - checked)


def test_the_cable_chosen_for_the_shower_is_the_smallest_that_carries_it() -> None:
    ratings = {
        size: stated(
            fact("cable-sizing", f"tabulated rating of {size} twin and earth clipped direct").value
        )[0]
        for size in ("2.5 mm²", "4 mm²", "6 mm²")
    }
    ib = Q(9200) / 230  # the 9.2 kW shower's design current, a 40 A device
    it = ib / (1 * 1 * 1 * 1)  # clipped direct, no rating factors
    chosen = min((s for s, r in ratings.items() if r >= it), key=lambda s: ratings[s])
    f = fact("cable-sizing", "cable size for a 40 A shower circuit clipped direct")
    assert f.value == chosen == "6 mm²" and "47 A" in f.statement


# authored atoms with numeric answers -------------------------------------------------
@dataclass(frozen=True)
class WorkedAtom:
    slug: str
    prompt: str  # a fragment of the question
    result: Q | float
    unit: str


STANDARD_MCBS = (6, 10, 16, 20, 25, 32, 40)

WORKED_ATOMS = [
    WorkedAtom("ohms-law", "115 Ω heating element", Q(230) / 115, "A"),
    WorkedAtom("ohms-law", "draws 10 A from a 230 V", Q(230) / 10, "Ω"),
    WorkedAtom("electrical-power", "0.5 Ω high-resistance joint", 10**2 * Q("0.5"), "W"),
    WorkedAtom("electrical-power", "load drawing 13 A", Q(230 * 13), "W"),
    WorkedAtom(
        "conductor-resistance", "50 m of 2.5 mm²", RHO_COPPER * 50 / (Q("2.5") / 10**6), "Ω"
    ),
    WorkedAtom("series-resistance", "10 Ω and 20 Ω", Q(60) / (10 + 20), "A"),
    WorkedAtom(
        "parallel-resistance",
        "200 MΩ, 300 MΩ and 600 MΩ",
        1 / (Q(1, 200) + Q(1, 300) + Q(1, 600)),
        "MΩ",
    ),
    WorkedAtom("design-current", "7.36 kW", Q(7360) / 230, "A"),
    WorkedAtom("design-current", "9.2 kW", Q(9200) / 230, "A"),
    WorkedAtom("diversity", "full-load current of 40 A", 10 + Q(3, 10) * (40 - 10), "A"),
    WorkedAtom("voltage-drop", "16 A load", Q(18 * 16 * 25) / 1000, "V"),
    WorkedAtom("voltage-drop", "3 % lighting limit", Q(230) * 3 / 100, "V"),
    WorkedAtom(
        "cable-sizing", "design current of 28 A", Q(min(r for r in STANDARD_MCBS if r >= 28)), "A"
    ),
    WorkedAtom("correction-factors", "Ci = 0.5", 16 / Q("0.5"), "A"),
    WorkedAtom("tt", "100 mA RCD", Q(50) / Q("0.1"), "Ω"),
    WorkedAtom("earth-fault-loop-impedance", "Ze = 0.8 Ω", Q("0.8") + Q("0.52"), "Ω"),
    WorkedAtom(
        "continuity-of-protective-conductors", "25 m of 2.5/1.5", 25 * (R_2_5 + R_1_5) / 1000, "Ω"
    ),
    WorkedAtom(
        "ring-final-circuit-test", "r1 = 0.6 Ω and r2 = 1.0 Ω", (Q("0.6") + Q("1.0")) / 4, "Ω"
    ),
    WorkedAtom("prospective-fault-current", "Ze at the origin is 0.46 Ω", Q(230) / Q("0.46"), "A"),
    WorkedAtom("safe-isolation-procedure", "three-phase four-wire", Q(math.comb(5, 2)), ""),
]


@pytest.mark.parametrize("w", WORKED_ATOMS, ids=lambda w: f"{w.slug}:{w.prompt}")
def test_every_worked_atom_answer_recomputes(w: WorkedAtom) -> None:
    cid = concept_uuid("cg2365", w.slug)
    atom = next(a for a in pack().atoms if a.concept_id == cid and w.prompt in a.front)
    body = atom.body
    if isinstance(body, McqBody):
        answer = body.options[body.answer_index]
    elif isinstance(body, ClozeBody):
        answer = body.answer
    else:
        assert isinstance(body, FlashcardBody)
        # a flashcard's back shows its working and ends in (or starts with) the result
        answer = body.back.rpartition(" = ")[2] if " = " in body.back else body.back
        answer = answer.partition(":")[0]
    number, places, unit = stated(answer)
    assert unit == w.unit, (answer, w.unit)
    assert number == w.result or rounded(w.result, places) == number, (answer, float(w.result))


# the pack as a whole -----------------------------------------------------------------
def test_the_pack_loads_with_stable_ids_and_resolved_siblings() -> None:
    p = pack()
    assert (p.name, p.version) == ("cg2365", 1)
    clusters = {c.cluster_slug for c in p.concepts}
    assert len(p.concepts) >= 30 and 4 <= len(clusters) <= 6
    ids = {c.concept_id for c in p.concepts}
    assert all(s in ids for c in p.concepts for s in c.siblings)
    events = p.events()
    assert len(events) == len(p.concepts) + len(p.atoms)
    assert [e.event_id for e in load_pack(PACK).events()] == [e.event_id for e in events]


def test_siblings_are_mutual() -> None:
    by_id = {c.concept_id: c for c in pack().concepts}
    for c in pack().concepts:
        for s in c.siblings:
            assert c.concept_id in by_id[s].siblings, (c.slug, by_id[s].slug)


def test_every_concept_has_substance_to_teach_from() -> None:
    authored = {a.concept_id for a in pack().atoms}
    for c in pack().concepts:
        assert c.definition is not None and len(c.definition.split()) >= 45, c.slug
        assert len(c.facts) >= 4, c.slug
        assert c.concept_id in authored, c.slug
        for f in c.facts:  # a cloze blanks the value, so it must appear exactly once
            assert f.statement.count(f.value) == 1, (c.slug, f.attribute)


def test_the_lessons_the_seed_teaches_are_there() -> None:
    slugs = {c.slug for c in pack().concepts}
    final_circuits = {
        "final-circuit",
        "radial-circuit",
        "ring-final-circuit",
        "unfused-spur",
        "fused-spur",
        "distribution-board",
        "mcb",
        "rcd",
        "rcbo",
        "lighting-circuit",
        "socket-outlet",
    }
    calculations = {
        "ohms-law",
        "electrical-power",
        "design-current",
        "voltage-drop",
        "cable-sizing",
        "correction-factors",
    }
    isolation = {
        "safe-isolation-procedure",
        "approved-voltage-indicator",
        "proving-unit",
        "gs38",
        "lock-off",
        "permit-to-work",
    }
    assert final_circuits | calculations | isolation <= slugs
    assert {c.cluster_slug for c in pack().concepts if c.slug in final_circuits} == {
        "final-circuits"
    }
    # the confusable pairs a learner must tell apart are siblings
    for a, b in [
        ("radial-circuit", "ring-final-circuit"),
        ("rcd", "rcbo"),
        ("tn-s", "tn-c-s"),
        ("unfused-spur", "fused-spur"),
        ("isolation", "functional-switching"),
    ]:
        assert concept_uuid("cg2365", b) in concept(a).siblings, (a, b)


def test_the_ring_and_voltage_drop_facts_the_course_relies_on() -> None:
    assert fact("ring-final-circuit", "protective device rating").value == "30 A or 32 A"
    assert fact("ring-final-circuit", "maximum floor area served").value == "100 m²"
    assert fact("radial-circuit", "protective device rating").value == "20 A"
    assert fact("lighting-circuit", "protective device rating").value == "6 A"
    assert fact("voltage-drop", "limit for lighting from a public supply").value == "3 %"
    assert fact("voltage-drop", "limit for other uses from a public supply").value == "5 %"
    assert fact("insulation-resistance-test", "test voltage for 230/400 V circuits").value == (
        "500 V DC"
    )


def test_safe_isolation_proves_the_tester_before_and_after_testing_dead() -> None:
    (procedure,) = concept("safe-isolation-procedure").procedures
    steps = [s.casefold() for s in procedure.steps]

    def at(fragment: str) -> int:
        return next(i for i, s in enumerate(steps) if s.startswith(fragment))

    assert at("identify") < at("switch off and isolate") < at("secure the isolation")
    assert at("secure the isolation") < at("post a warning notice") < at("prove the voltage")
    assert at("prove the voltage") < at("test every combination") < at("re-prove the voltage")
    assert at("re-prove the voltage") == len(steps) - 1


def test_rules_atoms_made_from_the_pack_are_answerable_right_and_read_as_english() -> None:
    """Every kind of rules atom built from these facts passes the same checks as the CCNA
    pack's (the definition flashcard carries a definition of up to 600 characters)."""
    by_id = {c.concept_id: c for c in pack().concepts}
    types = tuple(AtomType)
    checked = 0
    for c in pack().concepts:
        siblings = tuple(by_id[s] for s in c.siblings)
        for atom in make_atoms(AtomTask(c, siblings, ContentType.PRACTICE, types, 200)):
            assert problems(atom, c, siblings) == [], (c.slug, atom.variant)
            checked += 1
    assert checked > 1000
