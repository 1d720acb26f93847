"""Learners: a learner's answers, the diagnoses of the wrong ones with their evidence, and the
remediation plans with their atoms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.content import concept_names
from projections.learning import attempts_of, diagnoses_of, recent_learners, standing_of
from projections.remediation import plans_of
from services.api.console.core import ConsoleProblem, read, render
from services.api.deps import ID_MAX

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


async def _learner(conn: AsyncConnection, learner: str) -> dict[str, Any]:
    attempts = await attempts_of(conn, learner, limit=100)
    diagnoses = await diagnoses_of(conn, learner, limit=100)
    standing = await standing_of(conn, learner)
    names = await concept_names(
        conn, [a.concept_id for a in attempts] + [s.concept_id for s in standing]
    )
    return {"attempts": attempts, "diagnoses": diagnoses, "standing": standing, "names": names}


@router.get("/console/learners")
async def learners_page(request: Request) -> Response:
    learner = (request.query_params.get("learner") or "").strip()
    if len(learner) > ID_MAX or any(ord(ch) < 32 or ord(ch) == 127 for ch in learner):
        why = f"A learner id has 1-{ID_MAX} printable characters."
        raise ConsoleProblem(422, "Not a learner id", why)
    found: Any = None
    plans: Any = None
    if learner:
        found = await read(request, lambda c: _learner(c, learner))
        # remediation is its own read model: it may be built while learning is not
        plans = await read(request, lambda c: plans_of(c, learner, limit=50))
    return render(
        request,
        "learners.html",
        active="/console/learners",
        learner=learner,
        recent=await read(request, recent_learners),
        found=found,
        plans=plans,
    )
