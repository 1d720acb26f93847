"""HTTP routes of the diagnosis family: a learner's attempts, diagnoses and standing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from projections.learning import (
    AttemptView,
    ConceptStandingView,
    DiagnosisView,
    attempts_of,
    diagnoses_of,
    standing_of,
)
from services.api.deps import Conn, Limit, Offset, PathId
from services.api.errors import ERROR_RESPONSES

__all__ = ["router"]

router = APIRouter(tags=["learning"], responses=ERROR_RESPONSES)


@router.get("/v1/learners/{learner_id}/diagnoses", response_model=list[DiagnosisView])
async def learner_diagnoses(
    learner_id: PathId, conn: Conn, limit: Limit = 50, offset: Offset = 0
) -> Any:
    """The learner's diagnoses, newest first, with their evidence."""
    return await diagnoses_of(conn, learner_id, limit=limit, offset=offset)


@router.get("/v1/learners/{learner_id}/attempts", response_model=list[AttemptView])
async def learner_attempts(
    learner_id: PathId, conn: Conn, limit: Limit = 50, offset: Offset = 0
) -> Any:
    """The learner's answers, newest first."""
    return await attempts_of(conn, learner_id, limit=limit, offset=offset)


@router.get("/v1/learners/{learner_id}/concepts", response_model=list[ConceptStandingView])
async def learner_concepts(learner_id: PathId, conn: Conn) -> Any:
    """How the learner stands on each concept answered."""
    return await standing_of(conn, learner_id)
