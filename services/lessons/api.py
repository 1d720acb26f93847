"""HTTP endpoints of the lessons family.

- ``POST /v1/lessons``: resolve the topic in its content pack (404 for an
  unknown pack, 422 for an unknown topic or prerequisite) and publish
  ``lesson-requested``; 202 with the lesson id.
- ``GET /v1/lessons``: lessons, newest first; ``GET /v1/lessons/{id}``: one
  lesson with its phases, versions and current content (blocks in contract
  order); ``GET /v1/lessons/{id}/versions``: every version with its content.
- ``POST /v1/lessons/{id}/improve``: Phase 10 v2 on demand. Answers the seed's
  body ``{success, wasImproved, originalScore, finalScore, scoreDelta,
  validationFailures?}`` once the verdict is in the read model (waiting up to
  ``wait_s``), else 202 with the request id to poll at
  ``GET /v1/lessons/{id}/improvements/{request_id}``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Envelope
from events.lessons import LessonImproveRequested, LessonRequested, RefinementOutcome
from projections.lessons import (
    LessonSummary,
    LessonView,
    VersionView,
    lesson_of,
    lessons_list,
    refinement_of,
    versions_of,
)
from services.api.deps import Conn, Limit, Offset, Pub
from services.lessons.improve import ImproveBody, improve_body
from services.lessons.material import MaterialError, PackLibrary, material_for
from services.lessons.settings import LessonSettings

__all__ = [
    "LessonReader",
    "SqlLessonReader",
    "body_of",
    "lesson_reader",
    "lesson_settings",
    "new_lesson_id",
    "router",
]

router = APIRouter(tags=["lessons"])
POLL_S = 0.25
MAX_WAIT_S = 120.0

LessonIdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


def lesson_settings(request: Request) -> LessonSettings:
    """The lessons section of the app's settings (the environment's, without an app state)."""
    state = getattr(request.app.state, "nls", None)
    settings = getattr(state, "settings", None)
    return settings.section(LessonSettings) if settings is not None else LessonSettings()


class LessonReader(Protocol):
    """What the endpoints read: the lesson read models' queries."""

    async def lesson(self, lesson_id: str) -> LessonView | None: ...

    async def lessons(
        self, *, limit: int, offset: int, status: str | None, pack: str | None
    ) -> list[LessonSummary]: ...

    async def versions(self, lesson_id: str) -> list[VersionView]: ...

    async def refinement(self, lesson_id: str, refinement_id: uuid.UUID) -> VersionView | None: ...


class SqlLessonReader:
    """The queries of ``projections.lessons`` over one read-only connection. Each read
    is its own statement, so polling sees what projectors committed since."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def lesson(self, lesson_id: str) -> LessonView | None:
        return await lesson_of(self.conn, lesson_id)

    async def lessons(
        self, *, limit: int, offset: int, status: str | None, pack: str | None
    ) -> list[LessonSummary]:
        return await lessons_list(self.conn, limit=limit, offset=offset, status=status, pack=pack)

    async def versions(self, lesson_id: str) -> list[VersionView]:
        return await versions_of(self.conn, lesson_id, with_content=True)

    async def refinement(self, lesson_id: str, refinement_id: uuid.UUID) -> VersionView | None:
        return await refinement_of(self.conn, lesson_id, refinement_id)


def lesson_reader(conn: Conn) -> LessonReader:
    return SqlLessonReader(conn)


Reader = Annotated[LessonReader, Depends(lesson_reader)]
Settings_ = Annotated[LessonSettings, Depends(lesson_settings)]


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class LessonBody(_Body):
    pack: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
    topic: Text200
    unit: Text200 | None = None
    section: Text200 | None = None
    must_have_topics: list[Text200] = Field(default_factory=list, max_length=12)
    prerequisites: list[Text200] = Field(default_factory=list, max_length=8)
    strategy: Literal["rules", "llm", "auto"] | None = None
    lesson_id: (
        Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
        | None
    ) = None


class LessonAccepted(_Body):
    lesson_id: str
    request_event_id: uuid.UUID
    concepts: list[str]


class ImproveRequest(_Body):
    lesson_id: str | None = Field(default=None, max_length=64, description="the seed's body")
    strategy: Literal["rules", "llm", "auto"] | None = None


class ImprovePending(_Body):
    request_id: uuid.UUID
    status: Literal["pending"] = "pending"


def new_lesson_id(pack: str, topic: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in topic.lower()).strip("-")
    slug = "-".join(filter(None, slug.split("-")))[:32] or "lesson"
    return f"{pack}-{slug}-{uuid.uuid4().hex[:8]}"[:64]


@router.post("/v1/lessons", status_code=202, response_model=LessonAccepted)
async def request_lesson(body: LessonBody, publisher: Pub, settings: Settings_) -> Any:
    """Ask for a lesson on a concept or cluster of a content pack."""
    library = PackLibrary(settings.packs_dir)
    try:
        pack = library.pack(body.pack)
    except MaterialError as exc:
        raise HTTPException(404, str(exc)) from None
    try:
        material = material_for(
            pack, body.topic, must_have=body.must_have_topics, prerequisites=body.prerequisites
        )
    except MaterialError as exc:
        field = "prerequisites" if exc.name in body.prerequisites else "topic"
        raise HTTPException(
            422, [{"loc": ["body", field], "msg": str(exc), "type": "value_error"}]
        ) from None
    focus = material.focus[0]
    request = LessonRequested(
        lesson_id=body.lesson_id or new_lesson_id(body.pack, body.topic),
        pack=body.pack,
        unit=body.unit or focus.cluster_name,
        topic=body.topic,
        section=body.section or (focus.slug if len(material.focus) == 1 else focus.cluster_slug),
        must_have_topics=body.must_have_topics,
        prerequisites=body.prerequisites,
        strategy=body.strategy or settings.strategy,
        material=material,
    )
    event = Envelope.new(request, source="api")
    await publisher.publish([event])
    return LessonAccepted(
        lesson_id=request.lesson_id,
        request_event_id=event.event_id,
        concepts=[c.slug for c in material.focus],
    )


@router.get("/v1/lessons", response_model=list[LessonSummary])
async def list_lessons(
    reader: Reader,
    limit: Limit = 50,
    offset: Offset = 0,
    status: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z]+$")] = None,
    pack: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")] = None,
) -> Any:
    return await reader.lessons(limit=limit, offset=offset, status=status, pack=pack)


@router.get("/v1/lessons/{lesson_id}", response_model=LessonView)
async def get_lesson(lesson_id: LessonIdPath, reader: Reader) -> Any:
    """The lesson: status, phases, versions and the current version in contract order."""
    found = await reader.lesson(lesson_id)
    if found is None:
        raise HTTPException(404, f"no lesson {lesson_id!r}")
    return found


@router.get("/v1/lessons/{lesson_id}/versions", response_model=list[VersionView])
async def lesson_versions(lesson_id: LessonIdPath, reader: Reader) -> Any:
    """Every version: the original and each refinement, with content and verdict."""
    found = await reader.versions(lesson_id)
    if not found and await reader.lesson(lesson_id) is None:
        raise HTTPException(404, f"no lesson {lesson_id!r}")
    return found


def body_of(view: VersionView) -> ImproveBody:
    return improve_body(
        RefinementOutcome(view.outcome or RefinementOutcome.FAILED),
        reason=view.reason or "",
        original_score=view.original_score,
        candidate_score=view.score,
        applied=view.applied,
        validation_failures=view.validation_failures,
    )


@router.post(
    "/v1/lessons/{lesson_id}/improve",
    response_model=ImproveBody,
    response_model_exclude_none=True,
    responses={202: {"model": ImprovePending, "description": "no verdict within wait_s"}},
)
async def improve_lesson(
    lesson_id: LessonIdPath,
    reader: Reader,
    publisher: Pub,
    body: ImproveRequest | None = None,
    wait_s: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 60.0,
) -> Any:
    """Run Phase 10 v2 on the lesson now and answer the seed's improve-lesson body."""
    if body is not None and body.lesson_id not in (None, lesson_id):
        raise HTTPException(422, "lessonId in the body differs from the path")
    if await reader.lesson(lesson_id) is None:
        raise HTTPException(404, f"no lesson {lesson_id!r}")
    improve = LessonImproveRequested(
        lesson_id=lesson_id, request_id=uuid.uuid4(), strategy=body.strategy if body else None
    )
    await publisher.publish([Envelope.new(improve, source="api")])
    deadline = time.monotonic() + wait_s
    while True:
        found = await reader.refinement(lesson_id, improve.request_id)
        if found is not None and found.outcome is not None:
            return body_of(found)
        if time.monotonic() >= deadline:
            pending = ImprovePending(request_id=improve.request_id)
            return JSONResponse(pending.model_dump(mode="json", by_alias=True), status_code=202)
        await asyncio.sleep(POLL_S)


@router.get(
    "/v1/lessons/{lesson_id}/improvements/{request_id}",
    response_model=ImproveBody,
    response_model_exclude_none=True,
)
async def improvement(lesson_id: LessonIdPath, request_id: uuid.UUID, reader: Reader) -> Any:
    """The improve-lesson body of a request answered 202 earlier."""
    found = await reader.refinement(lesson_id, request_id)
    if found is None or found.outcome is None:
        raise HTTPException(404, f"no verdict yet for improvement {request_id} of {lesson_id!r}")
    return body_of(found)
