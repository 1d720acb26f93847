"""Typed errors of the generation gateway.

Every error carries the task and provider it came from, a short machine-readable
``reason`` (recorded as ``fallback_reason`` when a strategy falls back to rules)
and what the failed call already spent, so a fallback still accounts for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.errors import NlsError

__all__ = [
    "GenerationError",
    "InvalidOutput",
    "NoProviderConfigured",
    "ProviderTimeout",
    "ProviderUnavailable",
    "Spent",
    "UnknownStrategy",
    "call_failed",
]


@dataclass(frozen=True, slots=True)
class Spent:
    """Tokens and time a call used before it failed."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    latency_ms: float = 0.0
    attempts: int = 0


class GenerationError(NlsError):
    reason = "generation_error"

    def __init__(
        self,
        message: str,
        *,
        task: str,
        provider: str | None = None,
        model: str | None = None,
        spent: Spent | None = None,
    ) -> None:
        super().__init__(message)
        self.task = task
        self.provider = provider
        self.model = model
        self.spent = spent or Spent()

    def __str__(self) -> str:
        where = f"{self.provider}/{self.model}" if self.provider else "gateway"
        return f"{self.reason} in task {self.task!r} ({where}): {self.args[0]}"


def call_failed(
    kind: type[GenerationError], message: str, *, task: str, provider: str, model: str
) -> GenerationError:
    """A provider's failure of one call, typed, named after the call it failed."""
    return kind(message, task=task, provider=provider, model=model)


class NoProviderConfigured(GenerationError):
    reason = "no_provider"


class ProviderTimeout(GenerationError):
    reason = "timeout"
    retryable = True


class ProviderUnavailable(GenerationError):
    """Transport error, or 429/5xx/overloaded after the SDK's retries."""

    reason = "provider_error"
    retryable = True


class InvalidOutput(GenerationError):
    """The reply was not valid JSON, broke the schema or a bound, or leaked the prompt,
    and the re-asks did not fix it."""

    def __init__(self, message: str, *, kind: str, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.kind = kind

    @property
    def reason(self) -> str:  # type: ignore[override]
        return self.kind


class UnknownStrategy(NlsError, ValueError):
    def __init__(self, family: str, strategy: str, known: list[str]) -> None:
        super().__init__(
            f"family {family!r} has no strategy {strategy!r} (known: {', '.join(known)})"
        )
        self.family = family
        self.strategy = strategy
