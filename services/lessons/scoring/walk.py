"""Walking a lesson for the rubric: blocks with their place, questions with their JSON paths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from events.lessons import ScoreCategory, ScoreDetail, SuggestedFix
from services.lessons.contract import BlockType, Lesson, Question

__all__ = [
    "NUMBER",
    "SENTENCE",
    "detail",
    "explanations",
    "numbered",
    "questions",
    "taught",
]

_QUESTION_BLOCKS = (
    BlockType.CHECK,
    BlockType.PRACTICE,
    BlockType.INTEGRATIVE,
    BlockType.SPACED_REVIEW,
)
SENTENCE = re.compile(r"(?<=[.!?])\s+")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def detail(
    category: ScoreCategory,
    section: str,
    max_score: float,
    lost: float,
    issues: list[str],
    suggestions: list[str],
    fixes: list[SuggestedFix] | None = None,
) -> ScoreDetail:
    return ScoreDetail(
        section=f"{category.value}: {section}",
        category=category,
        score=max(0.0, max_score - lost),
        max_score=max_score,
        issues=issues[:40],
        suggestions=suggestions[:40],
        fixes=(fixes or [])[:40],
    )


def numbered(lesson: Lesson) -> Iterator[tuple[int, Any, int]]:
    """(index, block, n-th of its type) for every block."""
    seen: dict[BlockType, int] = {}
    for i, b in enumerate(lesson.blocks):
        seen[b.type] = seen.get(b.type, 0) + 1
        yield i, b, seen[b.type]


def questions(lesson: Lesson) -> Iterator[tuple[str, Any, int, Question]]:
    for i, b, n in numbered(lesson):
        if b.type in _QUESTION_BLOCKS:
            for k, q in enumerate(b.content.questions):
                yield f"blocks[{i}].content.questions[{k}]", b, n, q


def explanations(lesson: Lesson) -> list[tuple[int, str]]:
    return [
        (i, b.content.content) for i, b, _ in numbered(lesson) if b.type is BlockType.EXPLANATION
    ]


def taught(lesson: Lesson) -> str:
    parts = [
        f"{t.term}: {t.definition}"
        for b in lesson.of_type(BlockType.VOCAB)
        for t in b.content.terms
    ]
    parts += [text for _, text in explanations(lesson)]
    parts += [lesson.title, lesson.topic]
    return "\n".join(parts)
