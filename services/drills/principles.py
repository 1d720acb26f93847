"""What the drills teach: backgammon principles and the curriculum that orders them by phase.

The shipped pack is ``packs/backgammon/principles.yaml`` (loaded by
``services.drills.principles_pack``). A series carries the part it needs in its
batch context, as the seed's ``mentalModel`` and ``curriculum``: ``Teaching``
is that part, built from the pack for the requested phases and read back from a
batch's context by the workers. Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError

from events.drills import GamePhase, Principle

__all__ = [
    "CurriculumStage",
    "PrincipleEntry",
    "PrinciplesPack",
    "Slug",
    "Teaching",
    "drill_tags",
]

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Sentence = Annotated[str, Field(min_length=1, max_length=400)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrincipleEntry(_Strict):
    """A principle: what it is, and the situations in which it decides the play."""

    slug: Slug
    name: str = Field(min_length=1, max_length=80)
    definition: str = Field(min_length=20, max_length=400)
    applies_when: list[Sentence] = Field(min_length=1, max_length=6)
    example: str | None = Field(default=None, min_length=1, max_length=200)
    contrasts: list[Slug] = Field(default_factory=list, max_length=6)


class CurriculumStage(_Strict):
    """One game phase of the curriculum and the principles it teaches, in order."""

    phase: GamePhase
    title: str = Field(min_length=1, max_length=120)
    goal: str = Field(min_length=1, max_length=300)
    principles: list[Slug] = Field(min_length=1, max_length=30)


def drill_tags() -> list[str]:
    """Every principle a drill can be tagged with (rules and llm strategies alike)."""
    return [p.value for p in Principle]


@dataclass(frozen=True)
class Teaching:
    """The mental model (principles) and curriculum (stages) one series teaches."""

    pack: str
    principles: tuple[PrincipleEntry, ...]
    stages: tuple[CurriculumStage, ...]

    def entry(self, slug: str) -> PrincipleEntry | None:
        return next((p for p in self.principles if p.slug == slug), None)

    def for_phases(self, phases: Iterable[GamePhase]) -> Teaching:
        """The stages of ``phases`` and the principles they teach (drill tags kept)."""
        wanted = set(phases)
        stages = tuple(s for s in self.stages if s.phase in wanted)
        return Teaching(self.pack, _principles_of(stages, self.principles), stages)

    def mental_model(self) -> dict[str, JsonValue]:
        return {
            "pack": self.pack,
            "principles": [p.model_dump(mode="json", exclude_none=True) for p in self.principles],
        }

    def curriculum(self) -> dict[str, JsonValue]:
        return {"stages": [s.model_dump(mode="json") for s in self.stages]}

    @classmethod
    def from_context(
        cls, mental_model: Mapping[str, Any], curriculum: Mapping[str, Any]
    ) -> Teaching | None:
        """Read back what ``mental_model``/``curriculum`` wrote; None when a context has
        no such content (batches requested before principles were shipped)."""
        try:
            principles = _ENTRIES.validate_python(mental_model.get("principles"))
            stages = _STAGES.validate_python(curriculum.get("stages", []))
        except ValidationError:
            return None
        pack = mental_model.get("pack")
        if not principles or not isinstance(pack, str):
            return None
        return cls(pack, tuple(principles), tuple(stages))


_ENTRIES = TypeAdapter(list[PrincipleEntry])
_STAGES = TypeAdapter(list[CurriculumStage])


def _principles_of(
    stages: Sequence[CurriculumStage], known: Sequence[PrincipleEntry]
) -> tuple[PrincipleEntry, ...]:
    """The stages' principles in teaching order, then any drill tag they leave out: a
    drill is tagged from its best play, which need not be one its phase lists."""
    by_slug = {p.slug: p for p in known}
    order = [slug for s in stages for slug in s.principles]
    order += [t for t in drill_tags() if t not in order]
    return tuple(by_slug[slug] for slug in dict.fromkeys(order) if slug in by_slug)


class PrinciplesPack(_Strict):
    """A validated principles pack (see ``services.drills.principles_pack``)."""

    pack: Slug
    version: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=200)
    principles: list[PrincipleEntry] = Field(min_length=1)
    curriculum: list[CurriculumStage] = Field(min_length=1)

    @property
    def ref(self) -> str:
        return f"{self.pack}@v{self.version}"

    def entry(self, slug: str) -> PrincipleEntry:
        found = next((p for p in self.principles if p.slug == slug), None)
        if found is None:
            raise KeyError(f"no principle {slug!r} in the {self.ref} pack")
        return found

    def teaching(self, phases: Iterable[GamePhase] | None = None) -> Teaching:
        """What a series over ``phases`` (all by default) teaches, in curriculum order."""
        whole = Teaching(self.ref, tuple(self.principles), tuple(self.curriculum))
        return whole.for_phases(GamePhase if phases is None else phases)
