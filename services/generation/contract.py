"""The gateway's interface: what a caller asks for, what a provider is asked, what comes back.

A provider is one small I/O method (``complete``): send a system prompt and a
conversation, get text and token counts back. Everything else (validation,
re-asks, accounting, concurrency, fallback) lives above it, once for all providers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from events.common import GenerationUsage

__all__ = [
    "Completion",
    "Generated",
    "GenerationRequest",
    "Provider",
    "Reply",
    "Turn",
]

T = TypeVar("T", bound=BaseModel)
Out = TypeVar("Out")


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True, slots=True)
class Completion:
    """One model call as a provider sees it."""

    task: str
    system: str
    turns: tuple[Turn, ...]
    json_schema: dict[str, Any]
    temperature: float
    seed: int | None
    max_tokens: int
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    model: str | None = None


class Provider(Protocol):
    """A model API behind the gateway (anthropic, gemini, a fault-injecting wrapper)."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    async def complete(self, call: Completion) -> Reply:
        """Raise ``ProviderTimeout``/``ProviderUnavailable``; never return partial text."""

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class GenerationRequest(Generic[T]):
    """Generate one ``output`` object for ``task``.

    ``content`` is the data the model works on (facts, the learner's answer, ...):
    it is serialised into a delimited data block of the user turn and never
    enters the instructions, which come from the task's versioned prompt file.
    ``check`` runs after schema validation for rules a JSON schema cannot say
    (cross-field constraints); it raises ``ValueError`` with a message the
    re-ask passes on to the model.
    """

    task: str
    family: str
    content: Mapping[str, Any] | str
    output: type[T]
    temperature: float = 0.2
    seed: int | None = None
    timeout_s: float | None = None
    max_tokens: int | None = None
    check: Callable[[T], None] | None = None


@dataclass(frozen=True)
class Generated(Generic[Out]):
    """A generated value with what producing it cost."""

    value: Out
    usage: GenerationUsage
    notes: tuple[str, ...] = field(default=())
