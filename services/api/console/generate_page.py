"""Generate (the seed's ``/generate``): pick a pack and topic, generate a lesson and watch its
phases complete; the lesson in contract order; a dropdown of existing lessons and the
"Improve Lesson" button with the seed's status lines ("Improved! Score: 85 -> 93 (+8)",
"Validation failed: ...", "Score did not improve").

The lesson request goes through the lessons family's own endpoint function (the
same topic resolution and 404/422 answers as ``POST /v1/lessons``); improving
publishes ``lesson-improve-requested`` and follows its verdict in the read model.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Envelope
from events.lessons import LessonImproveRequested, LessonPhase
from services.api.console.core import ConsoleProblem, console_of, posted, read, render
from services.api.console.render import SECURITY_HEADERS, NotBuilt
from services.api.deps import State

__all__ = ["PackTopics", "pack_topics", "router"]

router = APIRouter(include_in_schema=False)
STRATEGIES = ("auto", "rules", "llm")
LESSON_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


@dataclass(frozen=True)
class PackTopics:
    name: str
    title: str
    clusters: tuple[str, ...]
    concepts: tuple[str, ...]


@lru_cache(maxsize=8)
def _topics(root: str) -> tuple[PackTopics, ...]:
    from services.lessons.material import PackLibrary

    library = PackLibrary(root)
    out = []
    for name in library.names():
        pack = library.pack(name)
        clusters = dict.fromkeys(c.cluster_name for c in pack.concepts)
        out.append(
            PackTopics(name, pack.title, tuple(clusters), tuple(c.name for c in pack.concepts))
        )
    return tuple(out)


def pack_topics(request: Request) -> tuple[PackTopics, ...]:
    """The content packs a lesson can be taught from, with their clusters and concepts."""
    from services.lessons.api import lesson_settings

    return _topics(str(Path(lesson_settings(request).packs_dir).resolve()))


def _check_id(text: str) -> str:
    import re

    if not (1 <= len(text) <= 64 and re.match(LESSON_ID, text)):
        raise ConsoleProblem(422, "Not a lesson id", f"{text[:80]!r} is not a lesson id.")
    return text


async def _lesson_state(request: Request, lesson_id: str) -> dict[str, Any]:
    from projections.lessons import lesson_of

    view = await read(request, lambda c: lesson_of(c, lesson_id))
    final = (
        not isinstance(view, NotBuilt)
        and view is not None
        and view.status
        in (
            "completed",
            "failed",
        )
    )
    phases: list[dict[str, Any]] = []
    if view is not None and not isinstance(view, NotBuilt):
        seen = {p.phase: p for p in view.phases}
        for phase in LessonPhase:
            row = seen.get(phase.value)
            phases.append({"number": phase.number, "name": phase.value, "row": row})
    done = sum(1 for p in phases if p["row"] is not None and p["row"].status != "requested")
    return {"view": view, "final": final, "phases": phases, "phases_done": done}


async def _improvement(request: Request, lesson_id: str, request_id: uuid.UUID) -> dict[str, Any]:
    from projections.lessons import refinement_of
    from services.lessons.api import body_of
    from services.lessons.improve import message

    async def verdict(conn: AsyncConnection) -> Any:
        return await refinement_of(conn, lesson_id, request_id)

    found = await read(request, verdict)
    if isinstance(found, NotBuilt) or found is None or found.outcome is None:
        return {"line": None, "body": None, "final": False}
    body = body_of(found)
    return {"line": message(body), "body": body, "final": True}


async def _page(
    request: Request, *, status: int = 200, errors: dict[str, str] | None = None, **form: Any
) -> Response:
    installed = console_of(request).installed("lessons")
    context: dict[str, Any] = {
        "installed": installed,
        "errors": errors or {},
        "form": {"pack": "", "topic": "", "strategy": "auto"} | form,
        "strategies": STRATEGIES,
        "lesson_id": None,
        "improvement_id": None,
        "lessons": [],
        "listed": True,
        "packs": (),
    }
    if installed:
        from projections.lessons import lessons_list

        context["packs"] = pack_topics(request)
        context["lessons"] = await read(request, lambda c: lessons_list(c, limit=100))
        lesson_id = request.query_params.get("lesson")
        if lesson_id:
            context["lesson_id"] = _check_id(lesson_id)
            context |= await _lesson_state(request, lesson_id)
            listed = context["lessons"]
            # a lesson still generating is offered too; one not projected yet makes the
            # page reload once it is final, so the dropdown then offers it
            context["listed"] = isinstance(listed, list) and any(
                x.lesson_id == lesson_id for x in listed
            )
            view = context["view"]
            if view and not context["form"]["pack"]:
                context["form"]["pack"] = view.pack  # the next lesson most likely comes from it
            improvement = request.query_params.get("improvement")
            if improvement:
                try:
                    request_id = uuid.UUID(improvement)
                except ValueError:
                    raise ConsoleProblem(422, "Not an improvement id", improvement[:80]) from None
                context["improvement_id"] = request_id
                context["improve"] = await _improvement(request, lesson_id, request_id)
    return render(request, "generate.html", status=status, active="/console/generate", **context)


@router.get("/console/generate")
async def generate_page(request: Request) -> Response:
    return await _page(request)


@router.post("/console/generate")
async def generate(request: Request) -> Response:
    _, form = await posted(request)
    if not console_of(request).installed("lessons"):
        raise ConsoleProblem(404, "No lessons here", "The lessons family is not installed.")
    from services.lessons.api import LessonBody, lesson_settings, request_lesson

    values = {
        "pack": form.get("pack"),
        "topic": form.get("topic"),
        "strategy": form.get("strategy"),
    }
    try:
        body = LessonBody(
            pack=values["pack"],
            topic=values["topic"],
            strategy=values["strategy"] or None,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        errors = {str(e["loc"][0]): e["msg"] for e in exc.errors() if e["loc"]}
        return await _page(request, status=422, errors=errors, **values)
    state: State = request.app.state.nls
    try:
        accepted = await request_lesson(body, state.publisher, lesson_settings(request))
    except HTTPException as exc:
        detail = exc.detail
        message = detail if isinstance(detail, str) else "; ".join(d["msg"] for d in detail)
        field = "pack" if exc.status_code == 404 else "topic"
        return await _page(request, status=422, errors={field: message}, **values)
    return RedirectResponse(
        f"/console/generate?lesson={accepted.lesson_id}", status_code=303, headers=SECURITY_HEADERS
    )


@router.post("/console/generate/improve")
async def improve(request: Request) -> Response:
    _, form = await posted(request)
    if not console_of(request).installed("lessons"):
        raise ConsoleProblem(404, "No lessons here", "The lessons family is not installed.")
    from projections.lessons import lesson_of

    lesson_id = _check_id(form.get("lesson"))
    found = await read(request, lambda c: lesson_of(c, lesson_id))
    if found is None or isinstance(found, NotBuilt):
        raise ConsoleProblem(404, "No such lesson", f"No lesson {lesson_id!r}.")
    event = LessonImproveRequested(lesson_id=lesson_id, request_id=uuid.uuid4())
    state: State = request.app.state.nls
    await state.publisher.publish([Envelope.new(event, source="console")])
    return RedirectResponse(
        f"/console/generate?lesson={lesson_id}&improvement={event.request_id}",
        status_code=303,
        headers=SECURITY_HEADERS,
    )


@router.get("/console/generate/lessons/{lesson_id}/live")
async def lesson_live(request: Request, lesson_id: str) -> Response:
    state = await _lesson_state(request, _check_id(lesson_id))
    return render(
        request,
        "_lesson.html",
        lesson_id=lesson_id,
        headers={"X-Console-Final": "1"} if state["final"] else None,
        **state,
    )


@router.get("/console/generate/lessons/{lesson_id}/improvements/{request_id}/live")
async def improvement_live(request: Request, lesson_id: str, request_id: uuid.UUID) -> Response:
    improve_ = await _improvement(request, _check_id(lesson_id), request_id)
    return render(
        request,
        "_improvement.html",
        improve=improve_,
        headers={"X-Console-Final": "1"} if improve_["final"] else None,
    )
