"""Fault injection: a provider wrapper that makes calls slow or fail, deterministically.

Switched on by ``NLS_LLM_FAULTS``, e.g. ``timeout=0.2,malformed=0.1,latency_ms=800,seed=7``:

- ``latency_ms`` (and ``jitter_ms``): added before every call, like a real model's think time;
- ``timeout``: probability that a call hangs past its deadline;
- ``error``: probability of a transport error (as after exhausted retries);
- ``malformed``: probability that the reply is cut in half (invalid JSON);
- ``seed``: the draws are a function of seed, task and conversation, so the same
  request meets the same fault in every run and every process, whatever the interleaving.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass, replace

from events.errors import NlsError
from services.generation.contract import Completion, Provider, Reply
from services.generation.errors import ProviderTimeout, ProviderUnavailable

__all__ = ["FaultSpec", "FaultSpecError", "FaultyProvider"]

_PROBABILITIES = ("timeout", "error", "malformed")
_DURATIONS = ("latency_ms", "jitter_ms")


class FaultSpecError(NlsError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FaultSpec:
    timeout: float = 0.0
    error: float = 0.0
    malformed: float = 0.0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep:
                raise FaultSpecError(f"NLS_LLM_FAULTS: {item!r} is not key=value")
            if key not in (*_PROBABILITIES, *_DURATIONS, "seed"):
                known = ", ".join((*_PROBABILITIES, *_DURATIONS, "seed"))
                raise FaultSpecError(f"NLS_LLM_FAULTS: unknown fault {key!r} (known: {known})")
            try:
                number = int(raw) if key == "seed" else float(raw)
            except ValueError:
                raise FaultSpecError(f"NLS_LLM_FAULTS: {key}={raw!r} is not a number") from None
            if key in _PROBABILITIES and not 0.0 <= number <= 1.0:
                raise FaultSpecError(f"NLS_LLM_FAULTS: {key}={raw} must be within 0..1")
            if key in _DURATIONS and number < 0:
                raise FaultSpecError(f"NLS_LLM_FAULTS: {key}={raw} must not be negative")
            values[key] = number
        spec = cls(**values)  # type: ignore[arg-type]
        if spec.timeout + spec.error > 1.0:
            raise FaultSpecError("NLS_LLM_FAULTS: timeout + error must not exceed 1")
        return spec

    def __str__(self) -> str:
        return ",".join(
            f"{k}={getattr(self, k):g}"
            for k in (*_PROBABILITIES, *_DURATIONS, "seed")
            if getattr(self, k)
        )


class FaultyProvider:
    """Wraps any provider; the wrapped provider's name and model are kept."""

    def __init__(self, inner: Provider, spec: FaultSpec) -> None:
        self.inner = inner
        self.spec = spec

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    def _rng(self, call: Completion) -> random.Random:
        digest = hashlib.blake2b(digest_size=16)
        for part in (str(self.spec.seed), call.task, call.system, *(t.text for t in call.turns)):
            digest.update(part.encode())
            digest.update(b"\0")
        return random.Random(digest.digest())

    async def complete(self, call: Completion) -> Reply:
        spec, rng = self.spec, self._rng(call)
        delay_ms = spec.latency_ms + rng.uniform(-spec.jitter_ms, spec.jitter_ms)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        draw = rng.random()
        if draw < spec.timeout:
            # Hang past the deadline, as a stuck model would; the caller's timeout fires first.
            await asyncio.sleep(call.timeout_s + 1.0)
            raise ProviderTimeout(
                "injected timeout", task=call.task, provider=self.name, model=self.model
            )
        if draw < spec.timeout + spec.error:
            raise ProviderUnavailable(
                "injected transport error", task=call.task, provider=self.name, model=self.model
            )
        reply = await self.inner.complete(call)
        if rng.random() < spec.malformed:
            return replace(reply, text=reply.text[: len(reply.text) // 2])
        return reply

    async def aclose(self) -> None:
        await self.inner.aclose()
