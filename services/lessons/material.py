"""What a lesson is taught from: a topic of a content pack resolved to its concepts.

A topic names a concept or a cluster (by slug or name, any case), or mentions
concept names in free text ("Final circuits: radial and ring final"). The
focus is that concept (plus concepts the must-have topics name) or up to five
of the cluster's; related concepts (siblings first, then cluster neighbours)
give contrast and distractors; prerequisites name earlier concepts for spaced
review. The material travels in ``lesson-requested``, so the pipeline and its
replay never read the pack again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from events.content import ConceptImported
from events.lessons import LessonMaterial, MaterialConcept
from services.content.pack import Pack, load_pack
from services.errors import NotFound
from services.lessons.text import normalise

__all__ = ["MAX_FOCUS", "MaterialError", "PackLibrary", "material_for", "to_material"]

MAX_FOCUS = 5
MAX_RELATED = 6


class MaterialError(NotFound, ValueError):
    """A pack, topic or prerequisite that cannot be resolved; says what is known."""

    def __init__(self, message: str, *, pack: str, name: str, known: Sequence[str] = ()) -> None:
        self.pack = pack
        self.name = name
        self.known = list(known)
        hint = f" (e.g. {', '.join(self.known[:8])})" if self.known else ""
        super().__init__(f"{message}{hint}")


def to_material(c: ConceptImported) -> MaterialConcept:
    return MaterialConcept(
        slug=c.slug,
        name=c.name,
        definition=c.definition,
        cluster_slug=c.cluster_slug,
        cluster_name=c.cluster_name,
        facts=c.facts,
        procedures=c.procedures,
        calculations=c.calculations,
        siblings=[],
    )


def _by_key(pack: Pack) -> tuple[dict[str, ConceptImported], dict[str, list[ConceptImported]]]:
    concepts: dict[str, ConceptImported] = {}
    clusters: dict[str, list[ConceptImported]] = {}
    for c in pack.concepts:
        concepts[normalise(c.slug)] = c
        concepts.setdefault(normalise(c.name), c)
        clusters.setdefault(normalise(c.cluster_slug), []).append(c)
        clusters.setdefault(normalise(c.cluster_name), clusters[normalise(c.cluster_slug)])
    return concepts, clusters


def _mentioned(pack: Pack, text: str) -> list[ConceptImported]:
    """Concepts whose name (or slug words) occur in ``text``, longest names first."""
    found: list[ConceptImported] = []
    plain = f" {normalise(text)} "
    for c in sorted(pack.concepts, key=lambda c: -len(c.name)):
        names = {normalise(c.name), normalise(c.slug.replace("-", " "))}
        if any(f" {n} " in plain or f" {n}s " in plain for n in names if len(n) > 2):
            found.append(c)
    order = {c.slug: i for i, c in enumerate(pack.concepts)}
    return sorted(found, key=lambda c: order[c.slug])


def _siblings(pack: Pack, c: ConceptImported) -> list[ConceptImported]:
    by_id = {x.concept_id: x for x in pack.concepts}
    return [by_id[s] for s in c.siblings if s in by_id]


def material_for(
    pack: Pack,
    topic: str,
    *,
    must_have: Sequence[str] = (),
    prerequisites: Sequence[str] = (),
) -> LessonMaterial:
    """Resolve ``topic`` in ``pack``; raise ``MaterialError`` naming what is known."""
    concepts, clusters = _by_key(pack)
    key = normalise(topic)
    neighbours: list[ConceptImported] = []
    if key in concepts:
        focus = [concepts[key]]
        neighbours = clusters[normalise(focus[0].cluster_slug)]
    elif key in clusters:
        cluster = clusters[key]
        focus, neighbours = cluster[:MAX_FOCUS], cluster[MAX_FOCUS:]
    else:
        focus = _mentioned(pack, topic)[:MAX_FOCUS]
        if not focus:
            known = sorted({c.cluster_slug for c in pack.concepts}) + [
                c.slug for c in pack.concepts[:6]
            ]
            raise MaterialError(
                f"no concept or cluster {topic!r} in pack {pack.name!r}",
                pack=pack.name,
                name=topic,
                known=known,
            )
        neighbours = clusters[normalise(focus[0].cluster_slug)]
    for wanted in must_have:
        for c in _mentioned(pack, wanted):
            if len(focus) < MAX_FOCUS and c not in focus:
                focus.append(c)
    related: list[ConceptImported] = []
    for c in [s for f in focus for s in _siblings(pack, f)] + list(neighbours):
        if c not in focus and c not in related and len(related) < MAX_RELATED:
            related.append(c)
    prereqs: list[ConceptImported] = []
    for name in prerequisites:
        found = concepts.get(normalise(name)) or next(iter(_mentioned(pack, name)), None)
        if found is None:
            raise MaterialError(
                f"prerequisite {name!r} is not a concept of pack {pack.name!r}",
                pack=pack.name,
                name=name,
                known=[c.slug for c in pack.concepts[:8]],
            )
        if found not in prereqs:
            prereqs.append(found)
    slugs_of = {c.concept_id: c.slug for c in pack.concepts}

    def material(c: ConceptImported) -> MaterialConcept:
        return to_material(c).model_copy(
            update={"siblings": [slugs_of[s] for s in c.siblings if s in slugs_of]}
        )

    return LessonMaterial(
        pack=pack.name,
        pack_title=pack.title,
        focus=[material(c) for c in focus],
        related=[material(c) for c in related],
        prerequisites=[material(c) for c in prereqs],
    )


class PackLibrary:
    """Content packs under one directory (``packs/<name>/pack.yaml``), loaded once each."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob("*/pack.yaml"))

    def pack(self, name: str) -> Pack:
        if name not in self.names():
            raise MaterialError(
                f"no content pack {name!r} under {self.root}",
                pack=name,
                name=name,
                known=self.names(),
            )
        return _load(str(self.root / name))


@lru_cache(maxsize=16)
def _load(directory: str) -> Pack:
    return load_pack(directory)
