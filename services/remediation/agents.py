"""The two agents of the remediation flow, behind the common handler contract.

- ``RemediationRouter`` (faust worker, learning topic): a diagnosis becomes a plan;
  when too few suitable atoms exist, it generates the missing ones itself, just in
  time, and plans existing + generated atoms (``atoms-generated``, then the plan).
  Generating here, not through a request on the bus, saves the learner a broker hop.
- ``JitGenerator`` (faust worker, content topic): an ``atom-generation-requested``
  (an author's, a learner's, a coverage scan's) becomes ``atoms-generated``; a
  failed_question request also gets its plan.
Both read the read models through a read-only store and share one generation service.
"""

from __future__ import annotations

from collections.abc import Sequence

from events import Envelope
from events.content import AtomGenerationRequested, AtomsGenerated
from events.learning import FailureDiagnosed
from services.bus.consumer import Delivery
from services.remediation import planning
from services.remediation.service import JITGenerationService, JitRequest, JitResult
from services.remediation.store import ContentStore, Snapshot

__all__ = ["JitGenerator", "RemediationRouter", "generate_and_plan", "request_of", "result_event"]


def request_of(r: AtomGenerationRequested, asked_by: Envelope) -> JitRequest:
    """The service's request for ``r``, which the event ``asked_by`` carried or decided."""
    return JitRequest(
        r.concept_id,
        r.trigger,
        list(r.content_types),
        r.atom_count,
        r.learner_id,
        r.fail_mode,
        strategy=r.strategy,
        request_id=asked_by.event_id,
    )


def result_event(
    cause: Envelope, request: AtomGenerationRequested, result: JitResult, *, source: str
) -> Envelope:
    """``atoms-generated`` answering ``request``, which ``cause`` carried or decided
    (its id derives from the cause's)."""
    generated = AtomsGenerated(
        request_event_id=cause.event_id,
        concept_id=request.concept_id,
        trigger=request.trigger,
        content_types=list(request.content_types),
        atoms=result.atoms,
        from_cache=result.from_cache,
        generation_time_ms=result.generation_time_ms,
        errors=[e[:500] for e in result.errors[:20]],
        usage=[] if result.from_cache else result.usage,
        remediation=request.remediation,
    )
    return cause.derive(generated, role="atoms-generated", source=source)


async def generate_and_plan(
    service: JITGenerationService,
    cause: Envelope,
    request: AtomGenerationRequested,
    *,
    source: str,
    snapshot: Snapshot | None = None,
) -> tuple[Envelope, ...]:
    """Generate what ``request`` asks for: ``atoms-generated``, and the plan it completes
    when it is for a failed question (``snapshot``: the concept as just read)."""
    result = await service.generate_for_gap(request_of(request, cause), snapshot)
    generated = result_event(cause, request, result, source=source)
    plan = planning.after_generation(generated, source=source)
    return (generated,) if plan is None else (generated, plan)


class RemediationRouter:
    name = "remediation"
    event_types: frozenset[str] | None = frozenset({FailureDiagnosed.event_type})

    def __init__(
        self,
        store: ContentStore,
        service: JITGenerationService,
        *,
        enable_jit: bool = True,
        concurrency: int = 1,
    ) -> None:
        self.store = store
        self.service = service
        self.enable_jit = enable_jit
        self.concurrency = concurrency

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        # One read for the plan and, when it needs them, the atoms it generates.
        snapshot = await self.store.snapshot(event.payload_as(FailureDiagnosed).concept_id)
        decided = planning.for_diagnosis(event, snapshot[2], enable_jit=self.enable_jit)
        if isinstance(decided, AtomGenerationRequested):
            return await generate_and_plan(
                self.service, event, decided, source=self.name, snapshot=snapshot
            )
        return (planning.plan_event(event, decided, source=self.name),)


class JitGenerator:
    name = "jit"
    event_types: frozenset[str] | None = frozenset({AtomGenerationRequested.event_type})

    def __init__(self, service: JITGenerationService, *, concurrency: int = 1) -> None:
        self.service = service
        self.concurrency = concurrency

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        request = event.payload_as(AtomGenerationRequested)
        return await generate_and_plan(self.service, event, request, source=self.name)
