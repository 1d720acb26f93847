"""YAML with the line of every node, so a validation error can name file, line and field.

Shared by the loaders of the shipped packs (content packs, the drills' principles).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["Loc", "YamlSyntaxError", "compose_with_lines", "field_path"]

Loc = tuple[str | int, ...]


class YamlSyntaxError(ValueError):
    """The text is not YAML; ``line`` is where the parser gave up (if it said)."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(f"not valid YAML: {problem}")
        self.line = line
        self.problem = problem


def compose_with_lines(text: str) -> tuple[Any, dict[Loc, int]]:
    """The document as plain data, and the line of every value by its path (a mapping
    entry's line is its key's)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(line, getattr(exc, "problem", None) or str(exc)) from None
    lines: dict[Loc, int] = {}
    constructor = yaml.SafeLoader("")

    def convert(n: yaml.Node, path: Loc) -> Any:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out = {}
            for k, v in n.value:
                key = constructor.construct_object(k)
                out[key] = convert(v, (*path, key))
                lines[(*path, key)] = k.start_mark.line + 1
            return out
        if isinstance(n, yaml.SequenceNode):
            return [convert(v, (*path, i)) for i, v in enumerate(n.value)]
        return constructor.construct_object(n)

    return (convert(node, ()) if node is not None else None), lines


def field_path(loc: Loc) -> str:
    """``("concepts", 3, "facts", 1)`` as ``concepts[3].facts[1]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
