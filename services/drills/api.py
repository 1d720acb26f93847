"""HTTP routes of the drills family."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException

from projections.drills import SeriesView, series_of
from services.api.deps import Conn
from services.api.errors import ERROR_RESPONSES

__all__ = ["router"]

router = APIRouter(tags=["drills"], responses=ERROR_RESPONSES)


@router.get("/v1/drill-series/{artifact_id}", response_model=SeriesView)
async def drill_series(artifact_id: uuid.UUID, conn: Conn) -> Any:
    """A drill series: status, progress by batch, and its drills ordered by index."""
    found = await series_of(conn, artifact_id)
    if found is None:
        raise HTTPException(404, f"no drill series {artifact_id}")
    return found
