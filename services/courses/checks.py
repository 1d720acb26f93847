"""The deterministic checks of a candidate (the seed's section 2), each 0-1.

- schema validity: the course, each group and each item has the Course v2 shape
  (a title, the requested number of groups and items, a text, a known mode);
- placeholders: exactly one ``[blank]`` or ``_`` per item text, and at least 3
  characters of real content besides it;
- mode constraints: options mode 3-4 options and a valid ``correct_index``,
  numeric mode a numeric answer and no options, only the modes asked for;
- consistency: item lengths alike (coefficient of variation < 0.8), no empty
  items, no duplicate options or items, and math correctness (exact arithmetic:
  ``7 + 5 = [blank]`` must have 12, and no distractor may be right too).

Every deduction names the item (``g2.i3``, ``g2`` or ``course``) and the check,
so a candidate's ``issues`` say exactly what was wrong.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from pydantic import ValidationError

from events.courses import (
    PLACEHOLDER,
    CourseDraft,
    CourseSpec,
    DraftItem,
    ItemMode,
    mode_problems,
    placeholder_problems,
)
from services.courses.arithmetic import (
    MathCheck,
    check_equation,
    check_expression,
    parse_number,
)
from services.courses.errors import NotANumber

__all__ = [
    "CV_LIMIT",
    "HARD_CHECKS",
    "CheckReport",
    "Deduction",
    "check_candidate",
    "check_math",
]

CV_LIMIT = 0.8
LENGTH_WEIGHT = 0.25  # of consistency: the course-wide length check; the rest is per item
HARD_CHECKS = frozenset(
    {
        "schema",
        "placeholders",
        "modes",
        "consistency.empty",
        "consistency.duplicates",
        "consistency.math",
    }
)


@dataclass(frozen=True)
class Deduction:
    item: str  # g2.i3, g2 or course
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.item}: {self.check}: {self.message}"


@dataclass(frozen=True)
class CheckReport:
    schema_validity: float
    placeholders: float
    mode_constraints: float
    consistency: float
    deductions: tuple[Deduction, ...]
    item_count: int
    texts: tuple[str, ...] = ()
    math_checked: int = 0
    math_wrong: int = 0
    valid: bool = False
    failed: dict[str, frozenset[str]] = field(default_factory=dict)  # item -> failed checks

    def items_failing(self, *checks: str) -> int:
        wanted = set(checks)
        return sum(1 for name, failed in self.failed.items() if "." in name and failed & wanted)

    @property
    def hard(self) -> list[Deduction]:
        return [d for d in self.deductions if d.check in HARD_CHECKS]


def _answer_of(item: DraftItem) -> str | None:
    if item.mode == ItemMode.NUMERIC:
        return item.answer
    options = item.options or []
    if item.correct_index is not None and 0 <= item.correct_index < len(options):
        return options[item.correct_index]
    return None


def check_math(item: DraftItem) -> list[MathCheck]:
    """The arithmetic of an item: its ``expression`` and any equation in its text, each
    against the answer (numeric) or the keyed option (options mode)."""
    answer = _answer_of(item)
    if answer is None or not item.text:
        return []
    checks = []
    if item.expression:
        checks.append(check_expression(item.expression, answer))
    in_text = check_equation(item.text, answer)
    if in_text.status != "unchecked" or not checks:
        checks.append(in_text)
    return checks


def _also_right(item: DraftItem, expected: object) -> list[str]:
    """Options other than the key that have the right value too."""
    out = []
    for k, option in enumerate(item.options or []):
        if k == item.correct_index:
            continue
        try:
            if parse_number(option) == expected:
                out.append(f"option {k} {option!r} is also correct")
        except NotANumber:
            continue
    return out


def _schema(course: CourseDraft, spec: CourseSpec) -> tuple[list[Deduction], int]:
    found: list[Deduction] = []
    if not (course.title or "").strip():
        found.append(Deduction("course", "schema", "the course has no title"))
    if len(course.groups) != spec.groups:
        found.append(
            Deduction("course", "schema", f"{len(course.groups)} groups, expected {spec.groups}")
        )
    for g, group in enumerate(course.groups, start=1):
        if not (group.title or "").strip():
            found.append(Deduction(f"g{g}", "schema", "the group has no title"))
        if len(group.items) != spec.items_per_group:
            found.append(
                Deduction(
                    f"g{g}",
                    "schema",
                    f"{len(group.items)} items, expected {spec.items_per_group}",
                )
            )
    for name, item in course.items():
        if item.text is None:
            found.append(Deduction(name, "schema", "the item has no text"))
        if item.mode not in (ItemMode.OPTIONS, ItemMode.NUMERIC):
            found.append(Deduction(name, "schema", f"mode {item.mode!r} is not options or numeric"))
    units = 1 + len(course.groups) + len(course.items())
    return found, units


def _item_checks(name: str, item: DraftItem, spec: CourseSpec) -> tuple[list[Deduction], int, int]:
    """Placeholder, mode and per-item consistency deductions; math checked and wrong."""
    found: list[Deduction] = []
    text = item.text or ""
    found += [Deduction(name, "placeholders", p) for p in placeholder_problems(text)]
    found += [
        Deduction(name, "modes", p)
        for p in mode_problems(item.mode, item.options, item.correct_index, item.answer)
    ]
    if item.mode in (ItemMode.OPTIONS, ItemMode.NUMERIC):
        if item.mode not in spec.modes:
            asked = ", ".join(m.value for m in spec.modes)
            found.append(Deduction(name, "modes", f"mode {item.mode} was not asked for ({asked})"))
        if item.mode == ItemMode.NUMERIC and item.answer and item.answer.strip():
            try:
                parse_number(item.answer)
            except NotANumber:
                found.append(Deduction(name, "modes", f"answer {item.answer!r} is not a number"))
        if item.mode == ItemMode.OPTIONS:
            for k, option in enumerate(item.options or []):
                if not option.strip():
                    found.append(Deduction(name, "consistency.empty", f"option {k} is empty"))
            normal = [o.strip().casefold() for o in item.options or []]
            if len(set(normal)) != len(normal):
                found.append(Deduction(name, "consistency.duplicates", "duplicate options"))
    if not PLACEHOLDER.sub("", text).strip():
        found.append(Deduction(name, "consistency.empty", "the item is empty"))
    checked = wrong = 0
    for result in check_math(item):
        if result.status == "unchecked":
            continue
        checked += 1
        if result.status == "wrong":
            wrong += 1
            found.append(Deduction(name, "consistency.math", result.message))
        elif item.mode == ItemMode.OPTIONS:
            found += [
                Deduction(name, "consistency.math", m) for m in _also_right(item, result.expected)
            ]
    return found, min(checked, 1), min(wrong, 1)


def check_candidate(course: CourseDraft, spec: CourseSpec) -> CheckReport:
    """Every deterministic check of a candidate, scored 0-1 each."""
    schema, units = _schema(course, spec)
    items = course.items()
    deductions = list(schema)
    checked = wrong = 0
    seen_texts: dict[str, str] = {}
    for name, item in items:
        found, c, w = _item_checks(name, item, spec)
        checked, wrong = checked + c, wrong + w
        key = " ".join((item.text or "").casefold().split())
        if key and key in seen_texts:
            found.append(
                Deduction(name, "consistency.duplicates", f"same text as {seen_texts[key]}")
            )
        seen_texts.setdefault(key, name)
        deductions += found
    lengths = [len(item.text or "") for _, item in items]
    mean = statistics.fmean(lengths) if lengths else 0.0
    cv = statistics.pstdev(lengths) / mean if len(lengths) > 1 and mean else 0.0
    if cv >= CV_LIMIT:
        deductions.append(
            Deduction(
                "course",
                "consistency.length",
                f"item lengths vary too much (coefficient of variation {cv:.2f} >= {CV_LIMIT})",
            )
        )
    failed: dict[str, set[str]] = {}
    for d in deductions:
        failed.setdefault(d.item, set()).add(d.check)

    def share(*checks: str) -> float:
        if not items:
            return 0.0
        bad = sum(1 for name, _ in items if failed.get(name, set()) & set(checks))
        return 1 - bad / len(items)

    schema_units_failed = len({d.item for d in schema})
    per_item_consistency = share("consistency.empty", "consistency.duplicates", "consistency.math")
    consistency = (
        LENGTH_WEIGHT * (cv < CV_LIMIT) + (1 - LENGTH_WEIGHT) * per_item_consistency
        if items
        else 0.0
    )
    try:
        course.course(spec)
        valid = True
    except ValidationError:
        valid = False
    return CheckReport(
        schema_validity=round(1 - schema_units_failed / units, 4) if items else 0.0,
        placeholders=round(share("placeholders"), 4),
        mode_constraints=round(share("modes"), 4),
        consistency=round(consistency, 4),
        deductions=tuple(deductions),
        item_count=len(items),
        texts=tuple(item.text or "" for _, item in items),
        math_checked=checked,
        math_wrong=wrong,
        valid=valid,
        failed={k: frozenset(v) for k, v in failed.items()},
    )
