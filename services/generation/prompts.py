"""Versioned prompt files, one per task, under ``services/generation/prompts/``.

A file starts with a small header::

    ---
    task: llm-check
    version: 2
    ---
    <the system prompt>

The version travels with every output (``prompt_version`` = ``llm-check@v2``);
bump it whenever the text changes meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from events.errors import NlsError

__all__ = ["Prompt", "PromptError", "load_prompt", "parse_prompt", "prompt_tasks"]

_HEADER = re.compile(r"\A---\n(?P<head>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)
_TASK = re.compile(r"^[a-z][a-z0-9-]*$")


class PromptError(NlsError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Prompt:
    task: str
    version: int
    text: str

    @property
    def ref(self) -> str:
        return f"{self.task}@v{self.version}"


def parse_prompt(source: str, name: str) -> Prompt:
    match = _HEADER.match(source)
    if not match:
        raise PromptError(f"{name}: missing the '---' header with task and version")
    fields: dict[str, str] = {}
    for n, line in enumerate(match["head"].splitlines(), start=2):
        key, sep, value = line.partition(":")
        if not sep:
            raise PromptError(f"{name}:{n}: expected 'key: value', got {line!r}")
        fields[key.strip()] = value.strip()
    task, version = fields.get("task", ""), fields.get("version", "")
    if not _TASK.match(task):
        raise PromptError(f"{name}: task {task!r} must be kebab-case")
    if not version.isdigit() or int(version) < 1:
        raise PromptError(f"{name}: version {version!r} must be a positive integer")
    body = match["body"].strip()
    if not body:
        raise PromptError(f"{name}: empty prompt")
    return Prompt(task=task, version=int(version), text=body)


def _files() -> dict[str, str]:
    root = resources.files("services.generation") / "prompts"
    return {f.name: f.read_text("utf-8") for f in root.iterdir() if f.name.endswith(".md")}


@cache
def _catalog() -> dict[str, Prompt]:
    prompts: dict[str, Prompt] = {}
    for name, source in sorted(_files().items()):
        prompt = parse_prompt(source, name)
        if name != f"{prompt.task}.md":
            raise PromptError(f"{name}: file must be named {prompt.task}.md")
        prompts[prompt.task] = prompt
    return prompts


def load_prompt(task: str) -> Prompt:
    try:
        return _catalog()[task]
    except KeyError:
        known = ", ".join(sorted(_catalog()))
        raise PromptError(f"no prompt file for task {task!r} (known: {known})") from None


def prompt_tasks() -> list[str]:
    return sorted(_catalog())
