"""An in-memory provider for unit tests: answers from a script, records every call."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.generation.contract import Completion, Reply
from services.generation.errors import GenerationError

__all__ = ["ScriptedProvider"]

Step = str | dict[str, Any] | GenerationError | Callable[[Completion], str]


@dataclass
class ScriptedProvider:
    """Each call takes the next step: a reply text, a dict (sent as JSON), an error to
    raise, or a function of the call. ``delay_s`` makes every call slow."""

    name: str = "scripted"
    model: str = "scripted-1"
    steps: deque[Step] = field(default_factory=deque)
    delay_s: float = 0.0
    calls: list[Completion] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def then(self, *steps: Step) -> ScriptedProvider:
        self.steps.extend(steps)
        return self

    async def complete(self, call: Completion) -> Reply:
        self.calls.append(call)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if not self.steps:
                raise AssertionError(f"{self.name}: script exhausted at call {len(self.calls)}")
            step = self.steps.popleft()
            if isinstance(step, GenerationError):
                raise step
            if callable(step):
                step = step(call)
            text = step if isinstance(step, str) else orjson.dumps(step).decode()
            return Reply(text, input_tokens=100, output_tokens=len(text) // 4, model=self.model)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        return None
