"""Load a content pack directory: ``pack.yaml`` plus one YAML file per cluster.

Everything is validated before anything is imported; every problem names the
file, the line and the field (``ccna/routing.yaml:42: concepts[3].facts[1].value:
...``). A fact may give the ``question`` that asks for its value, with
``{concept}`` for the concept's name; it must, where the default "What is the
<attribute> of {concept}?" would not read as English (``events.questions``).
Slugs become stable UUIDs (uuid5 of pack and slug), so re-importing a pack
updates the same concepts, and sibling references are checked across files.
See packs/ccna for the format.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from events import Envelope
from events.content import (
    Atom,
    AtomImported,
    Calculation,
    ClozeBody,
    ConceptImported,
    ContentType,
    Fact,
    FlashcardBody,
    KnowledgeType,
    McqBody,
    Procedure,
    TrueFalseBody,
)
from events.errors import NlsError
from events.questions import CONCEPT, default_question, phrasing_problems
from services.content.yaml_lines import Loc, YamlSyntaxError, compose_with_lines, field_path

__all__ = ["Pack", "PackError", "PackProblem", "concept_uuid", "load_pack"]

_NS = uuid.UUID("6f1c2a44-5d0b-4b8e-9a57-2d1f3c6e8b90")
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Authored = Annotated[
    FlashcardBody | McqBody | TrueFalseBody | ClozeBody, Field(discriminator="type")
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _PackMeta(_In):
    pack: Slug
    version: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=200)


class _ClusterMeta(_In):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)


class _ConceptIn(_In):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    definition: str | None = Field(default=None, max_length=600)
    siblings: list[Slug] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list, max_length=20)
    procedures: list[Procedure] = Field(default_factory=list, max_length=10)
    calculations: list[Calculation] = Field(default_factory=list)
    atoms: list[Authored] = Field(default_factory=list, max_length=20)


class _ClusterFile(_In):
    cluster: _ClusterMeta
    concepts: list[_ConceptIn] = Field(min_length=1)


@dataclass(frozen=True)
class PackProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class PackError(NlsError, ValueError):
    def __init__(self, problems: list[PackProblem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{len(problems)} problem(s) in the pack, nothing imported:\n{shown}{more}"
        )


@dataclass
class Pack:
    name: str
    version: int
    title: str
    concepts: list[ConceptImported] = field(default_factory=list)
    atoms: list[Atom] = field(default_factory=list)

    def events(self, source: str = "content-import") -> list[Envelope]:
        """Concepts then atoms, with ids derived from the content: re-importing an
        unchanged pack publishes the same event ids, which consumers dedupe."""
        out = []
        for c in self.concepts:
            out.append(Envelope.new(c, source=source, event_id=_content_id(c)))
        for a in self.atoms:
            payload = AtomImported(concept_id=a.concept_id, pack=self.name, atom=a)
            out.append(Envelope.new(payload, source=source, event_id=_content_id(payload)))
        return out


def _content_id(payload: BaseModel) -> uuid.UUID:
    digest = hashlib.sha256(orjson.dumps(payload.model_dump(mode="json"))).hexdigest()
    return uuid.uuid5(_NS, digest)


def concept_uuid(pack: str, slug: str) -> uuid.UUID:
    return uuid.uuid5(_NS, f"{pack}:concept:{slug}")


def _cluster_uuid(pack: str, slug: str) -> uuid.UUID:
    return uuid.uuid5(_NS, f"{pack}:cluster:{slug}")


# YAML with line numbers ------------------------------------------------------------
Path_ = Loc


def _compose(text: str, name: str) -> tuple[Any, dict[Path_, int]]:
    try:
        return compose_with_lines(text)
    except YamlSyntaxError as exc:
        raise PackError([PackProblem(name, exc.line, "", str(exc))]) from None


_field = field_path


def _problems(exc: ValidationError, name: str, lines: dict[Path_, int]) -> Iterator[PackProblem]:
    for err in exc.errors(include_url=False):
        loc = _in_file(tuple(err["loc"]), lines)
        line = next((lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in lines), None)
        message = err["msg"].removeprefix("Value error, ")
        yield PackProblem(name, line, _field(loc), message)


def _in_file(loc: Path_, lines: dict[Path_, int]) -> Path_:
    """The error location as written in the file: drops the union tags pydantic inserts
    (e.g. 'flashcard' in concepts.0.atoms.1.flashcard.front)."""
    path: Path_ = ()
    for i, part in enumerate(loc):
        if (*path, part) in lines or i == len(loc) - 1:
            path = (*path, part)
    return path


def _load(path: Path, root: Path, model: type[BaseModel]) -> tuple[Any, dict[Path_, int]]:
    name = str(path.relative_to(root.parent))
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError([PackProblem(name, None, "", f"cannot read: {exc}")]) from None
    data, lines = _compose(text, name)
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        raise PackError(list(_problems(exc, name, lines))) from None


def load_pack(directory: Path | str) -> Pack:
    """Read and validate a whole pack; raise ``PackError`` listing every problem."""
    root = Path(directory)
    meta_path = root / "pack.yaml"
    if not meta_path.is_file():
        raise PackError([PackProblem(str(root), None, "", "no pack.yaml in this directory")])
    meta, _ = _load(meta_path, root, _PackMeta)
    problems: list[PackProblem] = []
    clusters: list[tuple[str, _ClusterFile, dict[Path_, int]]] = []
    files = sorted(p for p in root.glob("*.yaml") if p.name != "pack.yaml")
    if not files:
        problems.append(PackProblem(str(root), None, "", "no cluster files (*.yaml)"))
    for path in files:
        try:
            cluster, lines = _load(path, root, _ClusterFile)
        except PackError as exc:
            problems.extend(exc.problems)
            continue
        name = str(path.relative_to(root.parent))
        if cluster.cluster.slug != path.stem:
            problems.append(
                PackProblem(
                    name,
                    lines.get(("cluster", "slug")),
                    "cluster.slug",
                    f"must match the file name {path.stem!r}",
                )
            )
        clusters.append((name, cluster, lines))
    seen: dict[str, str] = {}
    for name, cluster, lines in clusters:
        for i, c in enumerate(cluster.concepts):
            if c.slug in seen:
                problems.append(
                    PackProblem(
                        name,
                        lines.get(("concepts", i, "slug")),
                        f"concepts[{i}].slug",
                        f"{c.slug!r} is already defined in {seen[c.slug]}",
                    )
                )
            seen.setdefault(c.slug, name)
    for name, cluster, lines in clusters:
        for i, c in enumerate(cluster.concepts):
            for j, sib in enumerate(c.siblings):
                if sib not in seen or sib == c.slug:
                    why = (
                        "is the concept itself"
                        if sib == c.slug
                        else "is not a concept of this pack"
                    )
                    problems.append(
                        PackProblem(
                            name,
                            lines.get(("concepts", i, "siblings", j)),
                            f"concepts[{i}].siblings[{j}]",
                            f"{sib!r} {why}",
                        )
                    )
        problems.extend(_unasked_facts(name, cluster, lines))
    if problems:
        raise PackError(problems)
    return _build(meta, clusters)


def _unasked_facts(
    name: str, cluster: _ClusterFile, lines: dict[Path_, int]
) -> Iterator[PackProblem]:
    """Facts without a question whose default question does not read as English.

    A question the fact gives is checked by ``Fact`` itself; the default
    ("What is the <attribute> of {concept}?") only fits a plain noun attribute.
    """
    for i, c in enumerate(cluster.concepts):
        for j, f in enumerate(c.facts):
            if f.question is not None:
                continue
            default = default_question(f.attribute)
            found = phrasing_problems(default)
            if found:
                asked = default.replace(CONCEPT, c.name)
                yield PackProblem(
                    name,
                    lines.get(("concepts", i, "facts", j, "attribute")),
                    f"concepts[{i}].facts[{j}].question",
                    f"needed: the default {asked!r} does not read as English "
                    f"({'; '.join(found)}); write one with {CONCEPT} for the name",
                )


def _build(meta: _PackMeta, clusters: list[tuple[str, _ClusterFile, dict[Path_, int]]]) -> Pack:
    pack = Pack(meta.pack, meta.version, meta.title)
    for _, cluster, _ in clusters:
        cluster_id = _cluster_uuid(meta.pack, cluster.cluster.slug)
        for c in cluster.concepts:
            concept_id = concept_uuid(meta.pack, c.slug)
            pack.concepts.append(
                ConceptImported(
                    concept_id=concept_id,
                    slug=c.slug,
                    pack=meta.pack,
                    cluster_id=cluster_id,
                    cluster_slug=cluster.cluster.slug,
                    cluster_name=cluster.cluster.name,
                    name=c.name,
                    definition=c.definition,
                    facts=c.facts,
                    siblings=[concept_uuid(meta.pack, s) for s in dict.fromkeys(c.siblings)],
                    procedures=c.procedures,
                    calculations=c.calculations,
                )
            )
            for k, body in enumerate(c.atoms):
                variant = f"authored:{k}"
                pack.atoms.append(
                    Atom(
                        atom_id=uuid.uuid5(concept_id, variant),
                        concept_id=concept_id,
                        content_type=ContentType.PRACTICE,
                        knowledge_type=KnowledgeType.FACTUAL,
                        body=body,
                        tags=["authored", f"pack:{meta.pack}"],
                        quality_score=90.0,
                        fidelity_type="authored",
                        variant=variant,
                    )
                )
    return pack
