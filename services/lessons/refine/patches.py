"""Exact changes at JSON paths (``blocks[4].content.questions[0].expectedAnswer``).

The scorer names its fixes this way and the rules rewrite applies them; a path
that does not resolve, or an operation that does not fit the value found
there, raises ``PatchError`` instead of guessing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from events.errors import NlsError
from events.lessons import SuggestedFix

__all__ = ["PatchError", "apply_fixes", "parse_path", "resolve"]

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


class PatchError(NlsError, ValueError):
    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


def parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for raw in path.split("."):
        if not raw:
            raise PatchError(path, "empty segment")
        consumed = 0
        for m in _PART.finditer(raw):
            if m.start() != consumed:
                raise PatchError(path, f"cannot read {raw!r}")
            parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
            consumed = m.end()
        if consumed != len(raw):
            raise PatchError(path, f"cannot read {raw!r}")
    return parts


def resolve(data: Any, parts: list[str | int], path: str) -> tuple[Any, str | int]:
    """The container holding the last part, and that part."""
    node = data
    for part in parts[:-1]:
        node = _step(node, part, path)
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or not 0 <= last < len(node):
            raise PatchError(path, f"no item {last}")
    elif not isinstance(node, dict):
        raise PatchError(path, f"{last!r} is not inside an object")
    return node, last


def _step(node: Any, part: str | int, path: str) -> Any:
    if isinstance(part, int):
        if isinstance(node, list) and 0 <= part < len(node):
            return node[part]
    elif isinstance(node, dict) and part in node:
        return node[part]
    raise PatchError(path, f"nothing at {part!r}")


def _apply(data: Any, fix: SuggestedFix) -> None:
    parts = parse_path(fix.path)
    container, key = resolve(data, parts, fix.path)
    if fix.op == "set":  # an absent optional field (a missing hint) may be set too
        container[key] = copy.deepcopy(fix.value)
        return
    current = container.get(key) if isinstance(container, dict) else container[key]
    if fix.op == "append_text":
        if not isinstance(current, str) or not isinstance(fix.value, str):
            raise PatchError(fix.path, "append_text needs text at the path and as the value")
        container[key] = f"{current}\n\n{fix.value}"
    elif fix.op == "append_item":
        if not isinstance(current, list):
            raise PatchError(fix.path, "append_item needs a list at the path")
        current.append(copy.deepcopy(fix.value))


def apply_fixes(
    data: dict[str, Any], fixes: Iterable[SuggestedFix], *, limit: int | None = None
) -> tuple[dict[str, Any], list[str], list[str]]:
    """A patched copy, what was applied and what could not be (with why)."""
    out = copy.deepcopy(data)
    applied: list[str] = []
    skipped: list[str] = []
    for fix in fixes:
        if limit is not None and len(applied) >= limit:
            break
        try:
            _apply(out, fix)
        except PatchError as exc:
            skipped.append(str(exc))
            continue
        applied.append(f"{fix.op} {fix.path}")
    return out, applied, skipped
