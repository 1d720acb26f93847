"""The remediation agents over in-memory fakes: the router plans at once or generates
just in time itself; the JIT generator answers requests."""

from __future__ import annotations

import asyncio

import pytest

from events import Envelope, derive_id
from events.content import (
    AtomGenerationRequested,
    AtomsGenerated,
    AtomType,
    ContentType,
    GenerationTrigger,
)
from events.learning import FailMode, RemediationPlanned
from services.generation.gateway import Gateway
from services.remediation.agents import JitGenerator, RemediationRouter
from services.remediation.service import JITGenerationService
from services.remediation.store import MemoryContentStore
from tests.support.content import CONCEPTS, OSPF
from tests.unit.test_remediation_decisions import atoms, diagnosis

pytestmark = pytest.mark.unit


def router(existing: list, *, enable_jit: bool = True) -> RemediationRouter:  # type: ignore[type-arg]
    store = MemoryContentStore.of(CONCEPTS, existing)
    return RemediationRouter(store, JITGenerationService(store, Gateway()), enable_jit=enable_jit)


async def test_enough_atoms_make_one_plan_event() -> None:
    event = diagnosis(FailMode.RETRIEVAL_ERROR)
    out = await router(atoms(AtomType.FLASHCARD, AtomType.MCQ, count=3)).handle(event, None)  # type: ignore[arg-type]
    assert [e.event_type for e in out] == ["remediation-planned"]
    assert out[0].event_id == derive_id(event.event_id, "remediation-plan")
    assert not out[0].payload_as(RemediationPlanned).jit_requested


async def test_too_few_atoms_are_generated_in_place_then_planned() -> None:
    event = diagnosis(FailMode.ENCODING_ERROR)
    agent = router(atoms(AtomType.CLOZE, count=1))
    out = await agent.handle(event, None)  # type: ignore[arg-type]
    assert [e.event_type for e in out] == ["atoms-generated", "remediation-planned"]
    generated, plan_event = out
    g = generated.payload_as(AtomsGenerated)
    assert g.request_event_id == event.event_id and generated.causation_id == event.event_id
    assert g.trigger is GenerationTrigger.FAILED_QUESTION and len(g.atoms) == 4
    assert g.remediation is not None and g.remediation.diagnosis_event_id == event.event_id
    plan = plan_event.payload_as(RemediationPlanned)
    assert [a.source for a in plan.atoms] == ["existing"] + ["jit"] * 4
    assert plan.jit_requested and plan.jit_generated == 4
    # Redelivered, the diagnosis yields the same events with the same atoms (not a
    # cache hit); another diagnosis of the same gap is one.
    again = await agent.handle(event, None)  # type: ignore[arg-type]
    assert [e.event_id for e in again] == [e.event_id for e in out]
    assert [e.payload for e in again] == [e.payload for e in out]
    other = await agent.handle(diagnosis(FailMode.ENCODING_ERROR), None)  # type: ignore[arg-type]
    assert other[0].payload_as(AtomsGenerated).from_cache


async def test_a_redelivery_handled_alongside_the_first_gets_the_same_answer() -> None:
    # Two copies of one diagnosis at once (a worker takes several at once): whichever
    # generates, the other waits for it and answers the same, not from the cache.
    event = diagnosis(FailMode.ENCODING_ERROR)
    agent = router(atoms(AtomType.CLOZE, count=1))
    first, second = await asyncio.gather(agent.handle(event, None), agent.handle(event, None))  # type: ignore[arg-type]
    assert first[0].payload == second[0].payload
    assert not first[0].payload_as(AtomsGenerated).from_cache


async def test_with_jit_disabled_nothing_is_generated() -> None:
    out = await router([], enable_jit=False).handle(diagnosis(FailMode.ENCODING_ERROR), None)  # type: ignore[arg-type]
    assert [e.event_type for e in out] == ["remediation-planned"]


async def test_the_jit_generator_answers_a_request_without_a_plan() -> None:
    store = MemoryContentStore.of(CONCEPTS)
    request = Envelope.new(
        AtomGenerationRequested(
            concept_id=OSPF.concept_id,
            trigger=GenerationTrigger.USER_REQUEST,
            content_types=[ContentType.PRACTICE],
            atom_count=2,
        ),
        source="api",
    )
    out = await JitGenerator(JITGenerationService(store, Gateway())).handle(request, None)  # type: ignore[arg-type]
    assert [e.event_type for e in out] == ["atoms-generated"]
    assert out[0].payload_as(AtomsGenerated).request_event_id == request.event_id
    assert out[0].event_id == derive_id(request.event_id, "atoms-generated")
