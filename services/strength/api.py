"""HTTP routes of the strength family."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from projections.training import TrainingSessionView, session_of
from services.api.deps import Conn, PathId
from services.api.errors import ERROR_RESPONSES

__all__ = ["router"]

router = APIRouter(tags=["training"], responses=ERROR_RESPONSES)


@router.get("/v1/training-sessions/{session_id}", response_model=TrainingSessionView)
async def training_session(session_id: PathId, conn: Conn) -> Any:
    """A session as adjusted just in time: sets x reps @ kg, why, and by which strategy."""
    found = await session_of(conn, session_id)
    if found is None:
        raise HTTPException(404, f"no training session {session_id!r}")
    return found
