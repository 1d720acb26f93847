"""Diversity constraints: each candidate is prompted differently (the seed's section 1).

Candidate ``i`` of K gets the pedagogical approach ``APPROACHES[i % 3]`` (formal
academic, conversational, visual/story-based), the temperature ``0.2 + 0.1 i``
(0.2, 0.3, 0.4, ...; at most 1.0), a seed unique among the course's candidates
and derived from the course id (a redelivered request makes the same
candidates), and style hints: the approach's voice plus a structure of its own.
"""

from __future__ import annotations

import uuid

from events.courses import Diversity, PedagogicalApproach

__all__ = [
    "APPROACHES",
    "APPROACH_HINTS",
    "STRUCTURES",
    "Structure",
    "diversity_for",
    "structure_of",
]

APPROACHES = (
    PedagogicalApproach.FORMAL_ACADEMIC,
    PedagogicalApproach.CONVERSATIONAL,
    PedagogicalApproach.VISUAL_STORY,
)

APPROACH_HINTS: dict[PedagogicalApproach, tuple[str, ...]] = {
    PedagogicalApproach.FORMAL_ACADEMIC: (
        "use precise subject vocabulary and a neutral, formal voice",
        "state each arithmetic task as an equation",
    ),
    PedagogicalApproach.CONVERSATIONAL: (
        "talk to the learner as 'you' in short, friendly sentences",
        "open items with a light prompt such as 'Your turn' or 'Quick check'",
    ),
    PedagogicalApproach.VISUAL_STORY: (
        "frame items as small scenes with named characters and concrete objects",
        "let the learner picture the quantities (pizzas, ribbons, coins, temperatures)",
    ),
}

Structure = str
# Structural variation, so that candidates differ in shape as well as in voice.
STRUCTURES: dict[Structure, str] = {
    "ascending": "order each group's items from easiest to hardest",
    "spiral": "alternate easier and harder items within each group",
    "challenge-first": "open each group with its hardest item, then build up again",
}

_SEED_NS = uuid.UUID("0c5f3a1e-9b7d-4e2a-8f61-3d2c1b0a9e8f")


def structure_of(diversity: Diversity) -> Structure:
    """The structure named by the candidate's style hints (ascending when none is)."""
    for name, hint in STRUCTURES.items():
        if hint in diversity.style_hints:
            return name
    return "ascending"


def _seed(course_id: uuid.UUID, index: int, taken: set[int]) -> int:
    salt = 0
    while True:
        raw = uuid.uuid5(_SEED_NS, f"{course_id}:{index}:{salt}").int
        seed = raw % (2**31)
        if seed not in taken:
            return seed
        salt += 1


def diversity_for(course_id: uuid.UUID, count: int) -> list[Diversity]:
    """The K diversity constraints of a course's candidates."""
    if not 1 <= count <= 10:
        raise ValueError(f"candidate count must be 1-10, got {count}")
    taken: set[int] = set()
    out = []
    structures = list(STRUCTURES.values())
    for i in range(count):
        approach = APPROACHES[i % len(APPROACHES)]
        seed = _seed(course_id, i, taken)
        taken.add(seed)
        # The structure turns once per round of approaches: candidates 0 and 3 share
        # the formal voice but not the shape.
        structure = structures[(i + i // len(APPROACHES)) % len(structures)]
        out.append(
            Diversity(
                approach=approach,
                temperature=round(min(1.0, 0.2 + 0.1 * i), 2),
                seed=seed,
                style_hints=[*APPROACH_HINTS[approach], structure],
            )
        )
    return out
