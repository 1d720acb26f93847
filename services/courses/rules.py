"""The rules strategy: real worksheets, made offline and deterministically from a seed.

- math (``math``, ``maths``, ``mathematics``, ``arithmetic``): the grade's
  arithmetic skills, one per group, with exact answers and typical-mistake
  distractors (``problems``, ``worksheets``);
- any other subject: fact items from the content packs' statements about it
  (``facts``, ``fact_items``).

Candidates differ by approach (voice), by structure (item order) and by seed
(which numbers and facts); an improvement attempt draws afresh. Nothing here
is invented: numbers are computed, facts are the packs' own statements.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from events.courses import (
    CourseDraft,
    CourseSpec,
    Diversity,
    DraftGroup,
    ItemMode,
    PedagogicalApproach,
)
from services.courses.diversity import structure_of
from services.courses.errors import NoSourceMaterial
from services.courses.fact_items import FactItem, concept_items, frame
from services.courses.facts import FactBank, is_math
from services.courses.skills import SKILLS, skills_for
from services.courses.worksheets import math_group

__all__ = ["CandidateTask", "option_count", "ordering", "rules_course"]


@dataclass(frozen=True)
class CandidateTask:
    """What one candidate's generation needs."""

    spec: CourseSpec
    diversity: Diversity
    facts: FactBank = field(default_factory=FactBank)
    attempt: int = 0
    guidance: tuple[str, ...] = ()
    previous: CourseDraft | None = None
    timeout_s: float | None = None  # per model call (llm strategy)


def option_count(grade: int) -> int:
    """Three options for the youngest learners, four from grade 3."""
    return 3 if grade <= 2 else 4


def ordering(n: int, structure: str) -> list[int]:
    """Positions by ascending difficulty, in the order the structure shows them."""
    if structure == "spiral":
        low, high, out = 0, n - 1, []
        while low <= high:
            out.append(low)
            if high != low:
                out.append(high)
            low, high = low + 1, high - 1
        return out
    if structure == "challenge-first" and n > 1:
        return [n - 1, *range(n - 1)]
    return list(range(n))


def _title(spec: CourseSpec, approach: PedagogicalApproach, about: str) -> str:
    subject = spec.subject.strip()
    if approach is PedagogicalApproach.CONVERSATIONAL:
        return f"Let's practise {about} together (grade {spec.grade})"[:200]
    if approach is PedagogicalApproach.VISUAL_STORY:
        return f"Stories and scenes: {about} (grade {spec.grade})"[:200]
    return f"Grade {spec.grade} {subject}: {about}"[:200]


def _math_course(task: CandidateTask, rng: random.Random) -> CourseDraft:
    spec, d = task.spec, task.diversity
    skills = skills_for(spec.grade, spec.topic)
    if not skills:
        known = sorted({w for s in SKILLS.values() for w in s.words})
        raise NoSourceMaterial(spec.subject, spec.topic, known)
    start = rng.randrange(len(skills))
    taken: set[str] = set()
    structure = structure_of(d)
    groups = [
        math_group(
            skills[(start + g) % len(skills)],
            spec.items_per_group,
            approach=d.approach,
            modes=list(spec.modes),
            options=option_count(spec.grade),
            rng=rng,
            order=ordering(spec.items_per_group, structure),
            taken=taken,
            mode_offset=d.seed + g,
        )
        for g in range(spec.groups)
    ]
    about = spec.topic or ", ".join(dict.fromkeys(g.title or "" for g in groups)).lower()
    return CourseDraft(title=_title(spec, d.approach, about), groups=groups)


def _fact_group(
    queue: list[tuple[str, list[FactItem], list[FactItem]]],
    spec: CourseSpec,
    used: set[str],
    seed: int,
) -> tuple[list[str], list[FactItem]]:
    """Fill one group from the concepts at the head of the queue (name, options pool,
    numeric pool). A concept that runs dry hands over to the next; one that still has
    facts when the group is full waits at the back for a later group."""
    names: list[str] = []
    items: list[FactItem] = []
    while queue and len(items) < spec.items_per_group:
        name, options, numeric = queue[0]
        pools = {ItemMode.OPTIONS: options, ItemMode.NUMERIC: numeric}
        while len(items) < spec.items_per_group:
            want = spec.modes[(len(items) + seed) % len(spec.modes)]
            order = [want, *(m for m in spec.modes if m != want)]
            pick = next((m for m in order if any(f.key not in used for f in pools[m])), None)
            if pick is None:
                break
            fact = next(f for f in pools[pick] if f.key not in used)
            used.add(fact.key)
            items.append(fact)
            if name not in names:
                names.append(name)
        head = queue.pop(0)
        if any(f.key not in used for pool in pools.values() for f in pool):
            queue.append(head)
    return names, items


def _fact_course(task: CandidateTask, rng: random.Random) -> CourseDraft:
    spec, d = task.spec, task.diversity
    concepts = task.facts.concepts_for(spec.subject, spec.topic)
    rng.shuffle(concepts)
    options = option_count(spec.grade)
    queue = [
        (
            c.name,
            concept_items(c, task.facts, mode=ItemMode.OPTIONS, options=options, rng=rng)
            if ItemMode.OPTIONS in spec.modes
            else [],
            concept_items(c, task.facts, mode=ItemMode.NUMERIC, options=options, rng=rng)
            if ItemMode.NUMERIC in spec.modes
            else [],
        )
        for c in concepts
    ]
    used: set[str] = set()
    structure = structure_of(d)
    groups: list[DraftGroup] = []
    for g in range(spec.groups):
        names, items = _fact_group(queue, spec, used, d.seed + g)
        if not items:
            break
        items.sort(key=lambda f: len(f.item.text or ""))
        ordered = [items[i] for i in ordering(len(items), structure)]
        framed = [
            f.item.model_copy(update={"text": frame(f.item.text or "", d.approach, f.concept, rng)})
            for f in ordered
        ]
        groups.append(DraftGroup(title=" and ".join(names)[:200], items=framed))
    if not groups:
        modes = ", ".join(m.value for m in spec.modes)
        raise NoSourceMaterial(spec.subject, spec.topic, [f"no {modes} items in its facts"])
    about = spec.topic or ", ".join(g.title or "" for g in groups[:3])
    return CourseDraft(title=_title(spec, d.approach, about), groups=groups)


def rules_course(task: CandidateTask) -> CourseDraft:
    """A candidate course made by the rules, from the task's seed and attempt."""
    rng = random.Random(f"{task.diversity.seed}:{task.attempt}")
    if is_math(task.spec.subject):
        return _math_course(task, rng)
    return _fact_course(task, rng)
