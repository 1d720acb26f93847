"""Scoring step 1: structural validation, deterministic and fast.

A lesson with any of these errors is not scored further (it scores 0): it is
not a JSON object of the contract's shape (every error pydantic reports), a
block type is unknown, block or question ids repeat, a required block is
missing (outcomes, vocabulary, an explanation, practice, integration), a check
has no explanation before it, or the blocks are not in contract order.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from services.lessons.contract import BlockType, Lesson, contract_order, parse_lesson

__all__ = ["REQUIRED_BLOCKS", "structural_errors"]

REQUIRED_BLOCKS = (
    BlockType.OUTCOMES,
    BlockType.VOCAB,
    BlockType.EXPLANATION,
    BlockType.PRACTICE,
    BlockType.INTEGRATIVE,
)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {t.value for t in BlockType}:
            continue  # the discriminator tag pydantic inserts
        else:
            out += f".{part}" if out else str(part)
    return out or "(lesson)"


def _parse(data: Any) -> tuple[Lesson | None, list[str]]:
    try:
        return parse_lesson(data), []
    except ValidationError as exc:
        errors = [
            f"{_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)[:30]
        ]
        return None, errors


def structural_errors(data: Any) -> list[str]:
    """Everything structurally wrong with a lesson's JSON (empty: sound)."""
    if not isinstance(data, dict):
        return ["(lesson): not a JSON object"]
    lesson, errors = _parse(data)
    if lesson is None:
        return errors
    ids = [b.id for b in lesson.blocks]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        errors.append(f"blocks: duplicate block ids {dupes}")
    qids = [q.id for b in lesson.blocks for q in (getattr(b.content, "questions", None) or [])]
    qdupes = sorted({i for i in qids if qids.count(i) > 1})
    if qdupes:
        errors.append(f"blocks: duplicate question ids {qdupes[:10]}")
    kinds = [b.type for b in lesson.blocks]
    for required in REQUIRED_BLOCKS:
        if required not in kinds:
            errors.append(f"blocks: no {required.value} block")
    counts: dict[BlockType, int] = {}
    expected: list[float] = []
    for i, b in enumerate(lesson.blocks):
        counts[b.type] = n = counts.get(b.type, 0) + 1
        try:
            expected.append(contract_order(b.type, n))
        except ValueError as exc:
            errors.append(f"blocks[{i}]: {exc}")
            return errors
        if b.type is BlockType.CHECK and counts.get(BlockType.EXPLANATION, 0) < n:
            errors.append(f"blocks[{i}]: check {n} has no explanation {n} before it")
    if expected != sorted(expected):
        order = [f"{b.type.value}" for b in lesson.blocks]
        errors.append(f"blocks: not in contract order ({', '.join(order)})")
    return errors
