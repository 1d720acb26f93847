"""Load and validate a principles pack (``packs/backgammon/principles.yaml``).

Everything is checked before the pack is used, and every problem names the file,
the line and the field (``backgammon/principles.yaml:41: curriculum[1].principles[2]:
'prime' is not a principle of this pack``): the schema, unique slugs, references
between principles and from the curriculum, one stage per game phase in game
order, every principle taught somewhere, and every drill tag defined.

``shipped_principles()`` is the cached pack the drills family uses; the path comes
from ``NLS_DRILL_PRINCIPLES_PACK`` when set (an installed image keeps ``packs/``
outside the Python packages), else the checkout's ``packs/backgammon``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from events.drills import GamePhase
from services.content.yaml_lines import Loc, YamlSyntaxError, compose_with_lines, field_path
from services.drills.principles import PrinciplesPack, drill_tags
from services.drills.settings import DrillSettings

__all__ = [
    "DEFAULT_PACK",
    "PrinciplesError",
    "PrinciplesProblem",
    "load_principles",
    "shipped_principles",
]

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "packs" / "backgammon" / "principles.yaml"

_UNKNOWN = "is not a principle of this pack"


@dataclass(frozen=True)
class PrinciplesProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class PrinciplesError(ValueError):
    """The pack is unusable; ``problems`` lists each with its file, line and field."""

    def __init__(self, problems: list[PrinciplesProblem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the principles pack:\n{shown}{more}")


def _compose(text: str, name: str) -> tuple[Any, dict[Loc, int]]:
    """The YAML document and the line of every node, by its path."""
    try:
        return compose_with_lines(text)
    except YamlSyntaxError as exc:
        raise PrinciplesError([PrinciplesProblem(name, exc.line, "", str(exc))]) from None


_field = field_path


class _Problems:
    def __init__(self, name: str, lines: dict[Loc, int]) -> None:
        self.name, self.lines, self.found = name, lines, list[PrinciplesProblem]()

    def add(self, loc: Loc, message: str) -> None:
        line = next(
            (self.lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in self.lines), None
        )
        self.found.append(PrinciplesProblem(self.name, line, _field(loc), message))


def load_principles(path: Path | str) -> PrinciplesPack:
    """Read and validate a principles pack; raise ``PrinciplesError`` listing every problem."""
    file = Path(path)
    name = f"{file.parent.name}/{file.name}"
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PrinciplesError([PrinciplesProblem(name, None, "", f"cannot read: {exc}")]) from None
    data, lines = _compose(text, name)
    problems = _Problems(name, lines)
    try:
        pack = PrinciplesPack.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            problems.add(tuple(err["loc"]), err["msg"].removeprefix("Value error, "))
        raise PrinciplesError(problems.found) from None
    _check_references(pack, problems)
    if problems.found:
        raise PrinciplesError(problems.found)
    return pack


def _check_references(pack: PrinciplesPack, problems: _Problems) -> None:
    slugs: dict[str, int] = {}
    for i, p in enumerate(pack.principles):
        if p.slug in slugs:
            first = f"principles[{slugs[p.slug]}]"
            problems.add(("principles", i, "slug"), f"{p.slug!r} is already defined in {first}")
        slugs.setdefault(p.slug, i)
    for i, p in enumerate(pack.principles):
        for j, other in enumerate(p.contrasts):
            if other == p.slug or other not in slugs:
                why = "is the principle itself" if other == p.slug else _UNKNOWN
                problems.add(("principles", i, "contrasts", j), f"{other!r} {why}")
    taught: set[str] = set()
    order = list(GamePhase)
    last = -1
    for i, stage in enumerate(pack.curriculum):
        at = order.index(stage.phase)
        if at <= last:
            problems.add(
                ("curriculum", i, "phase"),
                f"{stage.phase.value} must come once, in game order "
                f"({', '.join(p.value for p in order)})",
            )
        last = max(last, at)
        for j, slug in enumerate(stage.principles):
            if slug not in slugs:
                problems.add(("curriculum", i, "principles", j), f"{slug!r} {_UNKNOWN}")
            elif slug in stage.principles[:j]:
                problems.add(("curriculum", i, "principles", j), f"{slug!r} is listed twice")
            taught.add(slug)
    staged = {s.phase for s in pack.curriculum}
    for phase in order:
        if phase not in staged:
            problems.add(("curriculum",), f"no stage for the {phase.value} phase")
    for i, p in enumerate(pack.principles):
        if p.slug not in taught:
            problems.add(("principles", i, "slug"), f"{p.slug!r} is taught in no curriculum stage")
    for tag in drill_tags():
        if tag not in slugs:
            problems.add(("principles",), f"no principle {tag!r}: drills are tagged with it")


@cache
def _load_cached(path: Path) -> PrinciplesPack:
    return load_principles(path)


def shipped_principles(path: Path | None = None) -> PrinciplesPack:
    """The principles pack the drills family teaches from (read once per path)."""
    chosen = Path(path or DrillSettings().drill_principles_pack or DEFAULT_PACK).resolve()
    if not chosen.is_file():
        why = (
            "no such file: set NLS_DRILL_PRINCIPLES_PACK to the principles pack "
            "(packs/backgammon/principles.yaml in the repository)"
        )
        raise PrinciplesError([PrinciplesProblem(str(chosen), None, "", why)])
    return _load_cached(chosen)
