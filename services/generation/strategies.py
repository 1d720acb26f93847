"""The strategy registry every generator family uses.

A family names a deterministic ``rules`` strategy (some families call it
otherwise: training's is ``formula``), an ``llm`` strategy and optionally a
``hybrid`` one. ``auto`` resolves to llm when a provider is configured, else
rules. When an llm or hybrid call fails (timeout, transport error, bad JSON,
a schema, bound or constraint violation after the re-asks) the rules strategy
makes the content instead, and the usage says ``<rules>_fallback`` with the
reason and the tokens the failed call spent.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from events.common import GenerationUsage
from services.generation.contract import Generated
from services.generation.errors import GenerationError, UnknownStrategy
from services.generation.gateway import Gateway
from services.generation.pricing import estimate_cost

__all__ = ["FAMILIES", "Family", "generate", "register", "resolve"]

In = TypeVar("In")
Out = TypeVar("Out")

log = structlog.get_logger(__name__)

RulesFn = Callable[[In], Out | Awaitable[Out]]
ModelFn = Callable[[In, Gateway], Awaitable[Generated[Out]]]


@dataclass(frozen=True)
class Family(Generic[In, Out]):
    name: str
    rules: RulesFn[In, Out]
    llm: ModelFn[In, Out] | None = None
    hybrid: ModelFn[In, Out] | None = None
    rules_name: str = "rules"
    task: str | None = None  # the gateway task of the llm strategy, for usage rows

    def strategies(self) -> list[str]:
        named = [self.rules_name]
        named += ["llm"] if self.llm else []
        named += ["hybrid"] if self.hybrid else []
        return [*named, "auto"]


FAMILIES: dict[str, Family[object, object]] = {}


def register(family: Family[In, Out]) -> Family[In, Out]:
    if family.name in FAMILIES and FAMILIES[family.name] is not family:
        raise ValueError(f"family {family.name!r} is registered twice")
    FAMILIES[family.name] = family  # type: ignore[assignment]
    return family


def resolve(family: Family[In, Out], strategy: str, gateway: Gateway) -> str:
    """The concrete strategy ``strategy`` stands for ("rules" is accepted for any family)."""
    if strategy == "auto":
        return "llm" if gateway.configured and family.llm else family.rules_name
    if strategy == "rules":
        return family.rules_name
    if strategy not in family.strategies():
        raise UnknownStrategy(family.name, strategy, family.strategies())
    return strategy


async def _rules(family: Family[In, Out], value: In) -> Out:
    made = family.rules(value)
    return await made if inspect.isawaitable(made) else made  # type: ignore[return-value]


async def generate(
    family: Family[In, Out], value: In, *, strategy: str, gateway: Gateway
) -> Generated[Out]:
    chosen = resolve(family, strategy, gateway)
    started = time.perf_counter()
    if chosen == family.rules_name:
        output = await _rules(family, value)
        return Generated(
            output,
            GenerationUsage(
                family=family.name,
                task=family.task,
                strategy=family.rules_name,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
            ),
        )
    impl = family.llm if chosen == "llm" else family.hybrid
    assert impl is not None  # resolve() only returns strategies the family has
    try:
        return await impl(value, gateway)
    except GenerationError as exc:
        log.warning(
            "generation_fallback",
            family=family.name,
            strategy=chosen,
            reason=exc.reason,
            error=str(exc),
        )
        output = await _rules(family, value)
        spent = exc.spent
        return Generated(
            output,
            GenerationUsage(
                family=family.name,
                task=exc.task or family.task,
                strategy=f"{family.rules_name}_fallback",
                fallback_from=chosen,
                fallback_reason=f"{exc.reason}: {exc.args[0]}"[:300],
                provider=exc.provider,
                model=exc.model,
                input_tokens=spent.input_tokens,
                output_tokens=spent.output_tokens,
                cached_tokens=spent.cached_tokens,
                cost_usd=estimate_cost(
                    exc.model, spent.input_tokens, spent.output_tokens, spent.cached_tokens
                ),
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                attempts=max(spent.attempts, 1),
            ),
        )
