"""The generation gateway: one async call turns a task and its data into a typed object.

It picks the provider, holds a per-provider semaphore, builds the prompt from
the task's versioned file with the data in a delimited block, enforces the
timeout, validates the reply (JSON, schema and bounds, the request's own
check, no prompt leak), re-asks with the validation error, and accounts for
tokens, cost, latency and attempts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from events.common import GenerationUsage
from services.generation.contract import Completion, Generated, GenerationRequest, Provider, Turn
from services.generation.errors import (
    GenerationError,
    InvalidOutput,
    NoProviderConfigured,
    ProviderTimeout,
    Spent,
)
from services.generation.guard import DATA_RULES, data_block, leaks_prompt
from services.generation.pricing import estimate_cost
from services.generation.prompts import Prompt, load_prompt
from services.runtime.metrics import LLM_CALLS, LLM_SECONDS

__all__ = ["Gateway"]

T = TypeVar("T", bound=BaseModel)

_BOUND_ERRORS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "multiple_of",
        "too_long",
        "too_short",
        "string_too_long",
        "string_too_short",
    }
)


@dataclass(slots=True)
class _Rejected(Exception):
    kind: str
    message: str


@dataclass(slots=True)
class _Tally:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    attempts: int = 0

    def spent(self, started: float) -> Spent:
        return Spent(
            self.input_tokens,
            self.output_tokens,
            self.cached_tokens,
            (time.perf_counter() - started) * 1000,
            self.attempts,
        )


class Gateway:
    """Holds the configured providers; ``configured`` is False when there are none."""

    def __init__(
        self,
        providers: Sequence[Provider] = (),
        *,
        preferred: str | None = None,
        timeout_s: float = 30.0,
        reasks: int = 1,
        concurrency: int = 4,
        max_tokens: int = 2048,
        prompts: Callable[[str], Prompt] = load_prompt,
    ) -> None:
        self.providers = {p.name: p for p in providers}
        self.preferred = (
            preferred if preferred in self.providers else next(iter(self.providers), None)
        )
        self.timeout_s = timeout_s
        self.reasks = reasks
        self.max_tokens = max_tokens
        self.prompts = prompts
        self._slots = {name: asyncio.Semaphore(concurrency) for name in self.providers}

    @property
    def configured(self) -> bool:
        return self.preferred is not None

    def provider(self, name: str | None = None, *, task: str = "") -> Provider:
        chosen = name or self.preferred
        if chosen is None or chosen not in self.providers:
            raise NoProviderConfigured(
                f"provider {chosen!r} is not configured (configured: {sorted(self.providers)})"
                if chosen
                else "no LLM provider configured: set ANTHROPIC_API_KEY or GEMINI_API_KEY",
                task=task,
                provider=chosen,
            )
        return self.providers[chosen]

    async def generate(
        self, request: GenerationRequest[T], *, provider: str | None = None
    ) -> Generated[T]:
        p = self.provider(provider, task=request.task)
        prompt = self.prompts(request.task)
        system = f"{prompt.text}\n\n{DATA_RULES}"
        turns: list[Turn] = [Turn("user", data_block(request.content))]
        timeout = request.timeout_s or self.timeout_s
        tally = _Tally()
        started = time.perf_counter()
        outcome = "ok"
        try:
            async with self._slots[p.name]:
                for _ in range(self.reasks + 1):
                    call = Completion(
                        task=request.task,
                        system=system,
                        turns=tuple(turns),
                        json_schema=_schema(request.output),
                        temperature=request.temperature,
                        seed=request.seed,
                        max_tokens=request.max_tokens or self.max_tokens,
                        timeout_s=timeout,
                    )
                    tally.attempts += 1
                    try:
                        async with asyncio.timeout(timeout):
                            reply = await p.complete(call)
                    except TimeoutError:
                        raise ProviderTimeout(
                            f"no answer within {timeout}s",
                            task=request.task,
                            provider=p.name,
                            model=p.model,
                        ) from None
                    tally.input_tokens += reply.input_tokens
                    tally.output_tokens += reply.output_tokens
                    tally.cached_tokens += reply.cached_tokens
                    try:
                        value = _validate(reply.text, request, system)
                    except _Rejected as rejected:
                        last = rejected
                        turns += [
                            Turn("assistant", reply.text or "(empty reply)"),
                            Turn("user", _reask(rejected)),
                        ]
                        continue
                    model = reply.model or p.model
                    usage = GenerationUsage(
                        family=request.family,
                        task=request.task,
                        strategy="llm",
                        provider=p.name,
                        model=model,
                        prompt_version=prompt.ref,
                        input_tokens=tally.input_tokens,
                        output_tokens=tally.output_tokens,
                        cached_tokens=tally.cached_tokens,
                        cost_usd=estimate_cost(
                            model, tally.input_tokens, tally.output_tokens, tally.cached_tokens
                        ),
                        latency_ms=round((time.perf_counter() - started) * 1000, 3),
                        attempts=tally.attempts,
                    )
                    return Generated(value, usage)
                raise InvalidOutput(
                    last.message,
                    kind=last.kind,
                    task=request.task,
                    provider=p.name,
                    model=p.model,
                )
        except GenerationError as exc:
            outcome = exc.reason
            exc.spent = tally.spent(started)
            raise
        finally:
            LLM_CALLS.labels(p.name, request.task, outcome).inc()
            LLM_SECONDS.labels(p.name, request.task).observe(time.perf_counter() - started)

    async def aclose(self) -> None:
        for p in self.providers.values():
            await p.aclose()

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@lru_cache(maxsize=256)
def _schema(output: type[BaseModel]) -> dict[str, Any]:
    return output.model_json_schema()


def _validate(text: str, request: GenerationRequest[T], system: str) -> T:
    try:
        data: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _Rejected("malformed_json", f"the reply is not valid JSON ({exc})") from None
    try:
        value = request.output.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        kind = (
            "bound_violation"
            if all(e["type"] in _BOUND_ERRORS for e in errors)
            else "schema_violation"
        )
        raise _Rejected(kind, "; ".join(_describe(e) for e in errors[:5])) from None
    if request.check is not None:
        try:
            request.check(value)
        except ValueError as exc:
            raise _Rejected("constraint_violation", str(exc)) from None
    if leaks_prompt(value, system):
        raise _Rejected("prompt_leak", "the reply quotes the instructions; answer the task only")
    return value


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(root)"
    given = orjson.dumps(error.get("input"), default=str).decode()[:80]
    return f"{where}: {error['msg']} (got {given})"


def _reask(rejected: _Rejected) -> str:
    return (
        f"Your reply was rejected ({rejected.kind}): {rejected.message}. "
        "Reply again with one JSON object that fixes this and follows the schema."
    )
