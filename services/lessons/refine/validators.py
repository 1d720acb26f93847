"""The three hard validator layers a rewritten lesson must pass; each rejects on any violation.

1. Structural invariants, against the original: the same number of blocks, each
   with the same id, type and order in the same place, and the lesson's
   metadata (id, unit, topic, section, layout, pack) unchanged.
2. Block completeness: every block has the fields its type needs, none empty;
   question blocks hold questions with id, text, answer type and a non-empty
   expected answer, within the contract's counts; no explanation loses more
   than half of its words (a content wipe); then the whole lesson parses.
3. Corruption detection: no ``[object Object]`` (or ``undefined``/``NaN``)
   artifacts, no answer type but ``short-text``, ``multiple-choice``,
   ``calculation``, ``true-false``, no malformed structures (a question that
   is not an object, answers or options that are not lists of text, JSON
   serialised into a string).

Layers run on the candidate's raw JSON, before anything normalises it, so a
damaged rewrite is seen as it was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from pydantic import ValidationError

from services.lessons.contract import ANSWER_TYPES, BlockType, parse_lesson
from services.lessons.text import word_count

__all__ = [
    "METADATA_FIELDS",
    "completeness",
    "corruption",
    "structural_invariants",
    "validate_candidate",
]

METADATA_FIELDS = ("id", "unit", "topic", "section", "layout")
_ARTIFACTS = ("[object Object]", "[object Array]")
_BAD_VALUES = frozenset({"undefined", "NaN"})
_QUESTION_COUNTS = {
    BlockType.CHECK.value: (2, 4),
    BlockType.PRACTICE.value: (4, 6),
    BlockType.INTEGRATIVE.value: (2, 3),
    BlockType.SPACED_REVIEW.value: (1, 4),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    BlockType.OUTCOMES.value: ("outcomes",),
    BlockType.VOCAB.value: ("terms",),
    BlockType.DIAGRAM.value: ("title", "description", "elements"),
    BlockType.EXPLANATION.value: ("title", "content"),
    BlockType.CHECK.value: ("title", "questions"),
    BlockType.WORKED_EXAMPLE.value: ("title", "given", "steps", "finalAnswer"),
    BlockType.PRACTICE.value: ("title", "questions"),
    BlockType.INTEGRATIVE.value: ("title", "questions"),
    BlockType.SPACED_REVIEW.value: ("title", "reviews", "questions"),
}
_QUESTION_FIELDS = ("id", "questionText", "answerType", "expectedAnswer")


def _blocks(data: Any) -> list[Any]:
    blocks = data.get("blocks") if isinstance(data, dict) else None
    return blocks if isinstance(blocks, list) else []


def structural_invariants(original: dict[str, Any], candidate: Any) -> list[str]:
    if not isinstance(candidate, dict):
        return ["structural: the rewrite is not a lesson object"]
    found = []
    for name in METADATA_FIELDS:
        if candidate.get(name) != original.get(name):
            found.append(f"structural: lesson {name} changed from {original.get(name)!r}")
    meta = candidate.get("metadata")
    pack = meta.get("pack") if isinstance(meta, dict) else None
    if pack != original.get("metadata", {}).get("pack"):
        found.append("structural: lesson metadata.pack changed")
    before, after = _blocks(original), candidate.get("blocks")
    if not isinstance(after, list):
        return [*found, "structural: blocks is not a list"]
    if len(after) != len(before):
        found.append(f"structural: block count changed from {len(before)} to {len(after)}")
    for i, (old, new) in enumerate(zip(before, after, strict=False)):
        if not isinstance(new, dict):
            found.append(f"structural: blocks[{i}] is not a block object")
            continue
        for key in ("id", "type", "order"):
            if new.get(key) != old.get(key):
                found.append(
                    f"structural: blocks[{i}].{key} changed from {old.get(key)!r} "
                    f"to {new.get(key)!r}"
                )
    return found


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def completeness(original: dict[str, Any], candidate: Any) -> list[str]:
    found = []
    old_words = {
        b.get("id"): word_count(str(b.get("content", {}).get("content", "")))
        for b in _blocks(original)
        if isinstance(b, dict) and b.get("type") == BlockType.EXPLANATION.value
    }
    for i, block in enumerate(_blocks(candidate)):
        if not isinstance(block, dict):
            continue
        kind, content = block.get("type"), block.get("content")
        if not isinstance(content, dict):
            found.append(f"completeness: blocks[{i}].content is missing")
            continue
        for name in _REQUIRED.get(str(kind), ()):
            if _empty(content.get(name)):
                found.append(f"completeness: blocks[{i}].content.{name} is missing or empty")
        if kind == BlockType.EXPLANATION.value and isinstance(content.get("content"), str):
            before = old_words.get(block.get("id"), 0)
            after = word_count(content["content"])
            if before and after < before / 2:
                found.append(
                    f"completeness: blocks[{i}].content.content lost {before - after} of "
                    f"{before} words"
                )
        questions = content.get("questions")
        if str(kind) in _QUESTION_COUNTS and isinstance(questions, list):
            low, high = _QUESTION_COUNTS[str(kind)]
            if not low <= len(questions) <= high:
                found.append(
                    f"completeness: blocks[{i}] has {len(questions)} questions ({low}-{high})"
                )
            for k, q in enumerate(questions):
                if not isinstance(q, dict):
                    continue
                for name in _QUESTION_FIELDS:
                    if _empty(q.get(name)):
                        found.append(
                            f"completeness: blocks[{i}].content.questions[{k}].{name} "
                            "is missing or empty"
                        )
    return found


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))


def _json_in_string(text: str) -> bool:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return False
    try:
        return isinstance(orjson.loads(stripped), dict | list)
    except orjson.JSONDecodeError:
        return False


def corruption(candidate: Any) -> list[str]:
    found = []
    for path, text in _strings(candidate, ""):
        if any(a in text for a in _ARTIFACTS):
            found.append(f"corruption: {path} contains an '[object Object]' artifact")
        elif text.strip() in _BAD_VALUES:
            found.append(f"corruption: {path} is the artifact {text.strip()!r}")
        elif _json_in_string(text):
            found.append(f"corruption: {path} holds serialised JSON instead of text")
    for i, block in enumerate(_blocks(candidate)):
        content = block.get("content") if isinstance(block, dict) else None
        questions = content.get("questions") if isinstance(content, dict) else None
        if questions is None:
            continue
        if not isinstance(questions, list):
            found.append(f"corruption: blocks[{i}].content.questions is not a list")
            continue
        for k, q in enumerate(questions):
            where = f"blocks[{i}].content.questions[{k}]"
            if not isinstance(q, dict):
                found.append(f"corruption: {where} is not a question object")
                continue
            kind = q.get("answerType")
            if kind is not None and kind not in ANSWER_TYPES:
                found.append(f"corruption: {where}.answerType {kind!r} is not a valid answer type")
            answers = q.get("expectedAnswer")
            if answers is not None and not (
                isinstance(answers, list) and all(isinstance(a, str) for a in answers)
            ):
                found.append(f"corruption: {where}.expectedAnswer is not a list of text")
            options = q.get("options")
            if options is not None and not (
                isinstance(options, list) and all(isinstance(o, str) for o in options)
            ):
                found.append(f"corruption: {where}.options is not a list of text")
    return found


def validate_candidate(original: dict[str, Any], candidate: Any) -> list[str]:
    """Every failure of the three layers (empty: the candidate may be scored)."""
    found = [
        *structural_invariants(original, candidate),
        *completeness(original, candidate),
        *corruption(candidate),
    ]
    if not found:
        try:
            parse_lesson(candidate)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[:5]
            found += [
                f"completeness: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in first
            ]
    return found
