"""What a lesson's model calls cost, recorded once each.

Every call's usage travels in exactly one event: the one the agent that made
the call publishes (a phase's completion, a score, a rewrite's proposal or its
rejection). The saga's own events (the score gate's verdict, Phase 10's phase
record) repeat none of it, since ``generation_usage`` and the ``lessons`` read
model add up every usage they see. A call that failed still spent tokens:
``spent_usage`` records them from the error.
"""

from __future__ import annotations

from events.common import GenerationUsage
from services.generation import Gateway, GenerationError
from services.generation.pricing import estimate_cost
from services.generation.prompts import PromptError

__all__ = ["spent_usage"]


def spent_usage(exc: GenerationError, *, family: str, gateway: Gateway) -> GenerationUsage:
    """The usage of a model call that failed (``exc``): what it spent before failing."""
    spent = exc.spent
    try:
        prompt_version: str | None = gateway.prompts(exc.task).ref
    except PromptError:  # no prompt file for the task: the usage names none
        prompt_version = None
    return GenerationUsage(
        family=family,
        task=exc.task,
        strategy="llm",
        provider=exc.provider,
        model=exc.model,
        prompt_version=prompt_version,
        input_tokens=spent.input_tokens,
        output_tokens=spent.output_tokens,
        cached_tokens=spent.cached_tokens,
        cost_usd=estimate_cost(
            exc.model, spent.input_tokens, spent.output_tokens, spent.cached_tokens
        ),
        latency_ms=round(spent.latency_ms, 3),
        attempts=max(spent.attempts, 1),
    )
