"""The two agents of the remediation flow, behind the common handler contract.

- ``RemediationRouter`` (batched consumer, learning topic): a diagnosis becomes a
  plan, or a generation request when too few suitable atoms exist.
- ``JitGenerator`` (faust worker, content topic): a generation request becomes
  ``atoms-generated``; for a failed question it also completes the learner's plan
  (existing + generated atoms), which saves the plan a trip back through the router.
Both read the read models through a read-only store.
"""

from __future__ import annotations

from collections.abc import Sequence

from events import Envelope
from events.content import AtomGenerationRequested, AtomsGenerated
from events.learning import FailureDiagnosed
from services.bus.consumer import Delivery
from services.remediation import planning
from services.remediation.service import JITGenerationService, JitRequest, JitResult
from services.remediation.store import ContentStore

__all__ = ["JitGenerator", "RemediationRouter", "request_of", "result_event"]


def request_of(r: AtomGenerationRequested) -> JitRequest:
    return JitRequest(
        r.concept_id,
        r.trigger,
        list(r.content_types),
        r.atom_count,
        r.learner_id,
        r.fail_mode,
        strategy=r.strategy,
    )


def result_event(request: Envelope, result: JitResult, *, source: str) -> Envelope:
    """``atoms-generated`` for a request event (its id derives from the request's)."""
    r = request.payload_as(AtomGenerationRequested)
    generated = AtomsGenerated(
        request_event_id=request.event_id,
        concept_id=r.concept_id,
        trigger=r.trigger,
        content_types=list(r.content_types),
        atoms=result.atoms,
        from_cache=result.from_cache,
        generation_time_ms=result.generation_time_ms,
        errors=[e[:500] for e in result.errors[:20]],
        usage=[] if result.from_cache else result.usage,
        remediation=r.remediation,
    )
    return request.derive(generated, role="atoms-generated", source=source)


class RemediationRouter:
    name = "remediation"
    event_types: frozenset[str] | None = frozenset({FailureDiagnosed.event_type})

    def __init__(self, store: ContentStore, *, enable_jit: bool = True) -> None:
        self.store = store
        self.enable_jit = enable_jit

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        existing = await self.store.atoms(event.payload_as(FailureDiagnosed).concept_id)
        return (
            planning.for_diagnosis(event, existing, enable_jit=self.enable_jit, source=self.name),
        )


class JitGenerator:
    name = "jit"
    event_types: frozenset[str] | None = frozenset({AtomGenerationRequested.event_type})

    def __init__(self, service: JITGenerationService, *, concurrency: int = 1) -> None:
        self.service = service
        self.concurrency = concurrency

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        request = request_of(event.payload_as(AtomGenerationRequested))
        result = await self.service.generate_for_gap(request)
        generated = result_event(event, result, source=self.name)
        plan = planning.after_generation(generated, source=self.name)
        return (generated,) if plan is None else (generated, plan)
