"""The training JIT agent (faust): ``session-jit-requested`` -> ``session-jit-generated``."""

from __future__ import annotations

from collections.abc import Sequence

from events import Envelope
from events.training import SessionJitGenerated, SessionJitRequested
from services.bus.consumer import Delivery
from services.generation import Gateway, generate
from services.strength.strategies import TRAINING

__all__ = ["TrainingJit"]


class TrainingJit:
    name = "training-jit"
    event_types: frozenset[str] | None = frozenset({SessionJitRequested.event_type})

    def __init__(self, gateway: Gateway, *, strategy: str = "auto", concurrency: int = 4) -> None:
        self.gateway = gateway
        self.strategy = strategy
        self.concurrency = concurrency

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        r = event.payload_as(SessionJitRequested)
        made = await generate(
            TRAINING, r.input, strategy=r.strategy or self.strategy, gateway=self.gateway
        )
        plan = made.value
        generated = SessionJitGenerated(
            session_id=r.session_id,
            lifter_id=r.lifter_id,
            output=plan,
            jit_strategy=made.usage.strategy,  # type: ignore[arg-type]
            rationale=plan.rationale,
            confidence=plan.confidence,
            input_snapshot=r.input,
            usage=made.usage,
        )
        return (event.derive(generated, role="jit-generated", source=self.name),)
