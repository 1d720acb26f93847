"""HTTP routes of the remediation family: JIT atoms by request, a concept's atoms, plans.

Generation requests are published as ``atom-generation-requested`` (answered by
the jit agent) and acknowledged with 202 and the request's event id.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, field_validator

from events import Envelope
from events.content import AtomGenerationRequested, ContentType, GenerationTrigger
from projections.content import AtomView, atom_count, atoms_of
from projections.remediation import PlanView, plans_of
from services.api.deps import ID_PATTERN, Conn, IdQuery, PathId, Pub, identifier
from services.api.errors import ERROR_RESPONSES
from services.remediation.mapping import MAX_PROACTIVE_CONCEPTS, PROACTIVE_TARGET

__all__ = ["router"]

router = APIRouter(tags=["content"], responses=ERROR_RESPONSES)


class GenerateRequest(BaseModel):
    count: int = Field(default=3, ge=1, le=20)
    content_type: ContentType = ContentType.PRACTICE
    learner_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=ID_PATTERN)
    strategy: str | None = Field(default=None, pattern="^(rules|llm|auto)$")

    @field_validator("learner_id")
    @classmethod
    def _stored_as_the_catalog_does(cls, value: str | None) -> str | None:
        return None if value is None else identifier(value)


class ProactiveRequest(BaseModel):
    upcoming_concepts: list[uuid.UUID] = Field(
        min_length=1, max_length=MAX_PROACTIVE_CONCEPTS, description="at most 3 per call"
    )


class Requested(BaseModel):
    concept_id: uuid.UUID
    request_event_id: uuid.UUID
    atom_count: int


class ProactiveAccepted(BaseModel):
    requested: list[Requested]
    skipped: list[uuid.UUID] = Field(description="concepts that already have 3 atoms or more")


async def _known(conn: Any, concept_id: uuid.UUID) -> int:
    count = await atom_count(conn, concept_id)
    if count is None:
        raise HTTPException(404, f"no concept {concept_id} (import a content pack first)")
    return count


def _request(concept_id: uuid.UUID, trigger: GenerationTrigger, **fields: Any) -> Envelope:
    return Envelope.new(
        AtomGenerationRequested(concept_id=concept_id, trigger=trigger, **fields), source="api"
    )


@router.post("/v1/concepts/{concept_id}/generate", status_code=202, response_model=Requested)
async def request_generation(
    concept_id: uuid.UUID, body: GenerateRequest, conn: Conn, publisher: Pub
) -> Any:
    """A user's request for more atoms of one concept."""
    await _known(conn, concept_id)
    event = _request(
        concept_id,
        GenerationTrigger.USER_REQUEST,
        content_types=[body.content_type],
        atom_count=body.count,
        learner_id=body.learner_id,
        strategy=body.strategy,
    )
    await publisher.publish([event])
    return Requested(concept_id=concept_id, request_event_id=event.event_id, atom_count=body.count)


@router.post(
    "/v1/learners/{learner_id}/proactive", status_code=202, response_model=ProactiveAccepted
)
async def proactive_generation(
    learner_id: PathId, body: ProactiveRequest, conn: Conn, publisher: Pub
) -> Any:
    """Top up to 3 atoms each of the learner's next concepts (at most 3 concepts)."""
    requested, skipped, events = [], [], []
    for concept_id in dict.fromkeys(body.upcoming_concepts):
        existing = await _known(conn, concept_id)
        if existing >= PROACTIVE_TARGET:
            skipped.append(concept_id)
            continue
        count = PROACTIVE_TARGET - existing
        event = _request(
            concept_id, GenerationTrigger.PROACTIVE, atom_count=count, learner_id=learner_id
        )
        events.append(event)
        requested.append(
            Requested(concept_id=concept_id, request_event_id=event.event_id, atom_count=count)
        )
    await publisher.publish(events)
    return ProactiveAccepted(requested=requested, skipped=skipped)


@router.get("/v1/concepts/{concept_id}/atoms", response_model=list[AtomView])
async def concept_atoms(concept_id: uuid.UUID, conn: Conn) -> Any:
    await _known(conn, concept_id)
    return await atoms_of(conn, concept_id)


@router.get("/v1/learners/{learner_id}/remediation", response_model=list[PlanView])
async def remediation_plans(learner_id: PathId, conn: Conn, question_id: IdQuery = None) -> Any:
    """The learner's remediation plans, newest first (one per diagnosed wrong answer)."""
    return await plans_of(conn, learner_id, question_id=question_id)
