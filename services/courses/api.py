"""HTTP endpoints of the courses family (an ``APIRouter``; the app mounts it).

- ``POST /v1/courses``: publishes ``course-requested``; 202 with the course id. With
  ``?wait=S`` it waits up to S seconds for the course to finish and answers as the
  seed does: 200 with the course, 422 with ``needs_attention`` (``error``,
  ``code``, ``details``), 502 when every candidate failed; still running at S,
  202 again. A waited answer names the course in its ``Location`` header, since the
  seed's 422 body does not carry the id.
- ``GET /v1/courses/{id}``: status, the selected course and the job summary.
- ``GET /v1/courses/{id}/candidates``: every candidate attempt with its diversity,
  score, breakdown, issues, similarity and status.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import ProgrammingError

from events import Envelope
from events.courses import CourseRequested, ItemMode
from projections.courses import CandidateView, CourseView, answer_of, candidates_of, course_of
from services.api.deps import Conn, Pub
from services.api.errors import ERROR_RESPONSES, ErrorBody

__all__ = ["MAX_WAIT_S", "CourseAccepted", "CourseBody", "router"]

MAX_WAIT_S = 120.0
POLL_S = 0.25

router = APIRouter(tags=["courses"], responses=ERROR_RESPONSES)
_LOCATION = {
    "Location": {
        "description": "with ?wait=: the course, /v1/courses/{id}",
        "schema": {"type": "string"},
    }
}


class CourseProblemBody(BaseModel):
    """The seed's body for a course that needs attention (422) or whose candidates all
    failed (502): ``error``, ``code`` and ``details``."""

    error: str
    code: str
    details: dict[str, Any]


class CourseBody(BaseModel):
    """A request for a worksheet course (the bounds are the event's)."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=80, examples=["math"])
    grade: int = Field(ge=1, le=12, examples=[4])
    topic: str | None = Field(default=None, min_length=1, max_length=120)
    groups: int = Field(default=3, ge=1, le=10)
    items_per_group: int = Field(default=5, ge=1, le=20)
    modes: list[ItemMode] = Field(
        default_factory=lambda: [ItemMode.OPTIONS, ItemMode.NUMERIC], min_length=1, max_length=2
    )
    candidate_count: int | None = Field(
        default=None, ge=1, le=10, description="K; given alone, asks for the candidate path"
    )
    use_candidates: bool | None = Field(default=None, description="None: USE_CANDIDATES")
    strategy: Literal["rules", "llm", "auto"] | None = None
    deadline_s: float | None = Field(default=None, gt=0, le=3600)


class CourseAccepted(BaseModel):
    course_id: uuid.UUID
    request_event_id: uuid.UUID
    status: str = "GENERATING"


def _request(body: CourseBody) -> CourseRequested:
    try:
        return CourseRequested(course_id=uuid.uuid4(), **body.model_dump())
    except ValidationError as exc:
        # The body's bounds are the event's, so this only fires on cross-field rules.
        raise HTTPException(
            422,
            [
                {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False)
            ],
        ) from None


async def _wait(conn: Any, course_id: uuid.UUID, seconds: float) -> CourseView | None:
    """Poll the read model until the course finishes or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            view = await course_of(conn, course_id)
        except ProgrammingError as exc:
            # The request is published already: a read model the projector has not made
            # yet means "not finished yet" here, not an error to retry the request on.
            if "does not exist" not in str(exc):
                raise
            view = None
        await conn.rollback()  # end the read transaction: the next poll sees new rows
        if view is not None and view.status != "GENERATING":
            return view
        if time.monotonic() >= deadline:
            return view
        await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))


@router.post(
    "/v1/courses",
    status_code=202,
    response_model=CourseAccepted,
    summary="Ask for a worksheet course (best of K candidates, or the single path)",
    responses={
        200: {
            "description": "with ?wait=: the course was selected in time",
            "headers": _LOCATION,
        },
        422: {
            "description": "invalid request (detail names the field), or needs_attention",
            "model": ErrorBody | CourseProblemBody,
            "headers": _LOCATION,
        },
        502: {
            "description": "with ?wait=: every candidate failed",
            "model": CourseProblemBody,
            "headers": _LOCATION,
        },
    },
)
async def request_course(
    body: CourseBody,
    conn: Conn,
    publisher: Pub,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT_S, description="seconds to wait for the outcome")
    ] = 0.0,
) -> Any:
    request = _request(body)
    event = Envelope.new(request, source="api")
    await publisher.publish([event])
    accepted = CourseAccepted(course_id=request.course_id, request_event_id=event.event_id)
    if wait <= 0:
        return accepted
    view = await _wait(conn, request.course_id, wait)
    if view is None or view.status == "GENERATING":
        return accepted
    status, answer = answer_of(view)
    return JSONResponse(
        answer, status_code=status, headers={"Location": f"/v1/courses/{request.course_id}"}
    )


@router.get("/v1/courses/{course_id}", response_model=CourseView)
async def get_course(course_id: uuid.UUID, conn: Conn) -> Any:
    """A course: status, the selected course, the job summary and warnings."""
    view = await course_of(conn, course_id)
    if view is None:
        raise HTTPException(404, f"no course {course_id}")
    return view


@router.get("/v1/courses/{course_id}/candidates", response_model=list[CandidateView])
async def get_candidates(course_id: uuid.UUID, conn: Conn) -> Any:
    """A course's candidates, by index and attempt."""
    if await course_of(conn, course_id) is None:
        raise HTTPException(404, f"no course {course_id}")
    return await candidates_of(conn, course_id)
