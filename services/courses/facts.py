"""The facts the rules strategy builds fact items from: the content packs' concepts.

``FactBank.load(directory)`` reads every pack under a directory (each a
``pack.yaml`` and its cluster files, see ``services.content.pack``) once, at the
wiring point; after that the bank is plain data. ``concepts_for(subject, topic)``
finds what a request is about: the subject names a pack (``ccna``), a word of a
pack's title (``networking``) or a cluster; the topic narrows it to clusters or
concepts whose slug or name holds it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from events.content import ConceptImported
from services.content.pack import PackError, load_pack
from services.courses.errors import NoSourceMaterial

__all__ = ["MATH_SUBJECTS", "FactBank", "is_math"]

log = structlog.get_logger(__name__)

MATH_SUBJECTS = frozenset({"math", "maths", "mathematics", "arithmetic"})
_WORDS = re.compile(r"[a-z0-9]+")


def is_math(subject: str) -> bool:
    return subject.strip().casefold() in MATH_SUBJECTS


def _norm(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


def _holds(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


@dataclass(frozen=True)
class _Pack:
    name: str
    title: str
    concepts: tuple[ConceptImported, ...]


@dataclass(frozen=True, eq=False)
class FactBank:
    packs: tuple[_Pack, ...] = ()
    skipped: tuple[str, ...] = ()  # packs that did not load, with why
    _by_id: dict[uuid.UUID, ConceptImported] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        packs: Iterable[tuple[str, str, Iterable[ConceptImported]]],
        skipped: Iterable[str] = (),
    ) -> FactBank:
        built = tuple(_Pack(name, title, tuple(concepts)) for name, title, concepts in packs)
        return cls(built, tuple(skipped), {c.concept_id: c for p in built for c in p.concepts})

    @classmethod
    def load(cls, directory: Path) -> FactBank:
        """Every pack directly under ``directory`` (or ``directory`` itself when it is one).

        A pack that does not validate is skipped and named in ``skipped`` (and the
        log): one broken pack must not take the others' courses down with it.
        """
        roots = (
            [directory]
            if (directory / "pack.yaml").is_file()
            else sorted(p for p in directory.glob("*") if (p / "pack.yaml").is_file())
        )
        loaded, skipped = [], []
        for root in roots:
            try:
                loaded.append(load_pack(root))
            except PackError as exc:
                first = exc.problems[0] if exc.problems else "invalid"
                skipped.append(f"{root.name}: {len(exc.problems)} problem(s), first: {first}")
        if skipped:
            log.warning("course packs skipped", directory=str(directory), skipped=skipped)
        return cls.of(((p.name, p.title, p.concepts) for p in loaded), skipped)

    def subjects(self) -> list[str]:
        return ["math", *(p.name for p in self.packs)]

    def concept(self, concept_id: uuid.UUID) -> ConceptImported | None:
        return self._by_id.get(concept_id)

    def siblings(self, concept: ConceptImported) -> list[ConceptImported]:
        return [s for sid in concept.siblings if (s := self._by_id.get(sid)) is not None]

    def pack_of(self, concept: ConceptImported) -> list[ConceptImported]:
        return next((list(p.concepts) for p in self.packs if p.name == concept.pack), [])

    def concepts_for(self, subject: str, topic: str | None) -> list[ConceptImported]:
        """The concepts a course on ``subject`` (and ``topic``) is built from."""
        s = _norm(subject)
        chosen: list[ConceptImported] = []
        for pack in self.packs:
            if s in (_norm(pack.name), _norm(pack.title)) or _holds(_norm(pack.title), s):
                chosen = list(pack.concepts)
                break
            by_cluster = [
                c
                for c in pack.concepts
                if s in (_norm(c.cluster_slug), _norm(c.cluster_name))
                or _holds(_norm(c.cluster_name), s)
            ]
            if by_cluster:
                chosen = by_cluster
                break
        if not chosen:
            raise NoSourceMaterial(subject, topic, self.subjects())
        if topic:
            t = _norm(topic)
            narrowed = [
                c
                for c in chosen
                if _holds(_norm(c.cluster_slug), t)
                or _holds(_norm(c.cluster_name), t)
                or _holds(_norm(c.slug), t)
                or _holds(_norm(c.name), t)
            ]
            if not narrowed:
                clusters = sorted({c.cluster_slug for c in chosen})
                raise NoSourceMaterial(subject, topic, clusters)
            chosen = narrowed
        return chosen
