"""Courses: request one, watch its K candidates generated and scored side by side, then the
selected worksheet or why it needs attention."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from events import Envelope
from events.courses import CourseRequested, ItemMode
from projections.courses import CandidateView, CourseView, candidates_of, course_of
from services.api.console.core import FormError, console_of, posted, read, render
from services.api.console.queries import recent_courses
from services.api.console.render import SECURITY_HEADERS, NotBuilt
from services.api.deps import State

__all__ = ["BREAKDOWN", "router"]

router = APIRouter(include_in_schema=False)
FINAL = ("SELECTED", "NEEDS_ATTENTION", "FAILED")
# the seed's consistency score: (key, label, weight)
BREAKDOWN = (
    ("schema_validity", "Schema validity", 0.30),
    ("placeholders", "Placeholders", 0.20),
    ("mode_constraints", "Mode constraints", 0.20),
    ("consistency", "Consistency", 0.15),
    ("self_review", "Self-review", 0.15),
)
REVIEW = (("clarity", "Clarity"), ("age_fit", "Age fit"), ("correctness", "Correctness"))
STRATEGIES = ("auto", "rules", "llm")
DEFAULTS: dict[str, Any] = {
    "subject": "math",
    "grade": "4",
    "topic": "",
    "groups": "3",
    "items_per_group": "5",
    "modes": ["options", "numeric"],
    "candidate_count": "3",
    "use_candidates": True,
    "strategy": "auto",
}


async def _course(request: Request, course_id: uuid.UUID) -> dict[str, Any]:
    async def both(conn: Any) -> tuple[CourseView | None, list[CandidateView]]:
        view = await course_of(conn, course_id)
        return view, (await candidates_of(conn, course_id) if view is not None else [])

    found = await read(request, both)
    if isinstance(found, NotBuilt):
        return {"view": found, "candidates": [], "final": False}
    view, candidates = found
    return {
        "view": view,
        "candidates": candidates,
        "final": view is not None and view.status in FINAL,
    }


async def _page(
    request: Request, *, status: int = 200, errors: dict[str, str] | None = None, **form: Any
) -> Response:
    course_id = request.query_params.get("course")
    live: dict[str, Any] = {"view": None, "candidates": [], "final": False}
    if course_id:
        try:
            live = await _course(request, uuid.UUID(course_id))
        except ValueError:
            course_id = None
    return render(
        request,
        "courses.html",
        status=status,
        active="/console/courses",
        installed=console_of(request).installed("courses"),
        recent=await read(request, recent_courses),
        course_id=course_id,
        modes=[m.value for m in ItemMode],
        strategies=STRATEGIES,
        breakdown=BREAKDOWN,
        review=REVIEW,
        errors=errors or {},
        form=DEFAULTS | form,
        **live,
    )


@router.get("/console/courses")
async def courses_page(request: Request) -> Response:
    return await _page(request)


@router.post("/console/courses")
async def request_course(request: Request) -> Response:
    _, form = await posted(request)
    values: dict[str, Any] = {
        "subject": form.get("subject"),
        "grade": form.get("grade"),
        "topic": form.get("topic"),
        "groups": form.get("groups"),
        "items_per_group": form.get("items_per_group"),
        "modes": form.all("modes"),
        "candidate_count": form.get("candidate_count"),
        "use_candidates": form.get("use_candidates") == "on",
        "strategy": form.get("strategy"),
    }
    try:
        strategy = form.get("strategy", "auto")
        if strategy not in STRATEGIES:
            raise FormError("strategy", f"Strategy must be one of {', '.join(STRATEGIES)}")
        modes = form.all("modes")
        if not modes:
            raise FormError("modes", "Pick at least one item mode")
        event = CourseRequested(
            course_id=uuid.uuid4(),
            subject=form.get("subject"),
            grade=form.number("grade", 4, lo=1, hi=12, label="Grade"),
            topic=form.get("topic") or None,
            groups=form.number("groups", 3, lo=1, hi=10, label="Groups"),
            items_per_group=form.number("items_per_group", 5, lo=1, hi=20, label="Items"),
            modes=[ItemMode(m) for m in modes],
            candidate_count=form.number("candidate_count", 3, lo=1, hi=10, label="Candidates"),
            use_candidates=values["use_candidates"],
            strategy=strategy,  # type: ignore[arg-type]
        )
    except FormError as exc:
        return await _page(request, status=422, errors={exc.name: exc.message}, **values)
    except ValidationError as exc:
        errors = {str(e["loc"][0]) if e["loc"] else "form": e["msg"] for e in exc.errors()}
        return await _page(request, status=422, errors=errors, **values)
    except ValueError as exc:
        return await _page(request, status=422, errors={"modes": str(exc)}, **values)
    state: State = request.app.state.nls
    await state.publisher.publish([Envelope.new(event, source="console")])
    return RedirectResponse(
        f"/console/courses?course={event.course_id}", status_code=303, headers=SECURITY_HEADERS
    )


@router.get("/console/courses/{course_id}/live")
async def course_live(request: Request, course_id: uuid.UUID) -> Response:
    live = await _course(request, course_id)
    return render(
        request,
        "_course.html",
        course_id=str(course_id),
        breakdown=BREAKDOWN,
        review=REVIEW,
        headers={"X-Console-Final": "1"} if live["final"] else None,
        **live,
    )
