"""``nls courses``: ask for a worksheet course and watch its candidates; show a course.

- ``nls courses request --subject math --grade 4 [--topic T] [--candidates K]
  [--strategy rules|llm|auto]``: publishes ``course-requested`` and follows the
  course live (candidates generated, reviewed, scored) until it finishes;
  exits 1 when it needs attention or failed.
- ``nls courses show ID [--json]``: the course, its job summary and candidates.

A typer app; the ``nls`` CLI mounts it as ``courses``. The rendering is pure
(``progress_table``, ``outcome_lines``, ``course_table``) and reads only views.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.console import Group
from rich.live import Live
from rich.table import Table

from events import Envelope
from events.courses import CourseRequested, ItemMode
from services.errors import NotFound
from services.runtime.cli import console, fail, platform, run
from services.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from projections.courses import CandidateView, CourseView

__all__ = ["course_table", "courses_app", "outcome_lines", "parse_modes", "progress_table"]

courses_app = typer.Typer(help="Worksheet courses: best of K candidates.", no_args_is_help=True)
STRATEGIES = ("rules", "llm", "auto")
FINISHED = ("SELECTED", "NEEDS_ATTENTION", "FAILED")


def parse_modes(text: str) -> list[ItemMode]:
    """``options,numeric`` as modes; a ValueError names an unknown one."""
    out = []
    for name in filter(None, (m.strip().lower() for m in text.split(","))):
        try:
            out.append(ItemMode(name))
        except ValueError:
            known = ", ".join(m.value for m in ItemMode)
            raise ValueError(f"--modes: unknown mode {name!r} (known: {known})") from None
    if not out:
        raise ValueError("--modes: give at least one mode")
    return list(dict.fromkeys(out))


def _latest(candidates: Sequence[CandidateView]) -> list[CandidateView]:
    by_index: dict[int, CandidateView] = {}
    for c in candidates:  # ordered by index, then attempt
        by_index[c.candidate_index] = c
    return list(by_index.values())


def _stages(c: CandidateView) -> tuple[str, str, str]:
    """Generated, reviewed, scored: "yes" (or the score), "x" where it failed, "..."
    while pending, "-" never."""
    if c.status == "FAILED":
        return ("yes", "x", "-") if (c.error or "").startswith("review") else ("x", "-", "-")
    generated = "yes" if c.status in ("GENERATED", "SCORED", "SELECTED") else "..."
    reviewed = "yes" if c.status in ("SCORED", "SELECTED") else "..."
    scored = f"{c.score:.2f}" if c.score is not None else "..."
    return generated, reviewed, scored


def progress_table(view: CourseView | None, candidates: Sequence[CandidateView]) -> Table:
    """The live view: one row per candidate (its latest attempt) and a tally."""
    latest = _latest(candidates)
    stages = [_stages(c) for c in latest]
    total = view.summary.candidate_count if view and view.summary.candidate_count else len(latest)
    gen = sum(1 for s in stages if s[0] == "yes")
    rev = sum(1 for s in stages if s[1] == "yes")
    sco = sum(1 for s in stages if s[2] not in ("...", "-"))
    status = view.status if view else "REQUESTED"
    table = Table(
        "#",
        "approach",
        "temp",
        "attempt",
        "generated",
        "reviewed",
        "score",
        "status",
        title=f"{status}: {gen}/{total} generated, {rev}/{total} reviewed, {sco}/{total} scored",
    )
    for c, (g, r, s) in zip(latest, stages, strict=True):
        table.add_row(
            str(c.candidate_index),
            c.approach,
            f"{c.temperature:.1f}",
            str(c.attempt),
            g,
            r,
            s,
            c.status,
        )
    return table


def outcome_lines(view: CourseView) -> list[str]:
    """What the course came to, as the seed reports it."""
    s = view.summary
    if view.status == "SELECTED":
        lines = [
            f"selected candidate {s.selected_index} with score {s.selected_score:.2f} "
            f"({s.method}, {s.candidate_count} candidate(s), {s.total_tokens} tokens, "
            f"{s.latency_ms} ms)"
        ]
    elif view.status in ("NEEDS_ATTENTION", "FAILED"):
        lines = [orjson.dumps(view.details, option=orjson.OPT_INDENT_2).decode()]
    else:
        lines = [f"{view.status}: still generating"]
    return lines + [f"warning: {w}" for w in view.warnings]


def course_table(view: CourseView) -> Table:
    """The selected course's items, group by group."""
    course = view.course or {}
    table = Table("item", "mode", "text", "answer", title=course.get("title") or "course")
    for g, group in enumerate(course.get("groups") or [], start=1):
        table.add_section()
        table.add_row(f"g{g}", "", f"[bold]{group.get('title') or ''}[/]", "")
        for i, item in enumerate(group.get("items") or [], start=1):
            options = item.get("options") or []
            key = item.get("correct_index")
            answer = item.get("answer") or (
                options[key] if isinstance(key, int) and 0 <= key < len(options) else ""
            )
            shown = " / ".join(options) if options else ""
            text = item.get("text") or ""
            table.add_row(
                f"g{g}.i{i}",
                item.get("mode") or "",
                text + (f"\n  {shown}" if shown else ""),
                str(answer),
            )
    return table


async def _views(
    conn: AsyncConnection, course_id: uuid.UUID
) -> tuple[CourseView | None, list[CandidateView]] | None:
    """The course and its candidates; None while the projector has not made the read
    model's tables (a fresh stack), so a follower keeps waiting instead of failing."""
    from sqlalchemy.exc import ProgrammingError

    from projections.courses import candidates_of, course_of

    try:
        view = await course_of(conn, course_id)
        return view, (await candidates_of(conn, course_id) if view else [])
    except ProgrammingError as exc:
        if "does not exist" not in str(exc):
            raise
        return None


async def _read(course_id: uuid.UUID) -> tuple[CourseView | None, list[CandidateView]]:
    async with platform().deps() as deps, deps.read_engine().connect() as conn:
        found = await _views(conn, course_id)
    if found is None:
        raise NotFound("the courses read model is not built yet: is the projector running?")
    return found


async def _follow(course_id: uuid.UUID, timeout: float) -> CourseView | None:
    deadline = time.monotonic() + timeout
    view: CourseView | None = None
    async with platform().deps() as deps:
        engine = deps.read_engine()
        with Live(progress_table(None, []), console=console, refresh_per_second=4) as live:
            while time.monotonic() < deadline:
                async with engine.connect() as conn:
                    view, found = await _views(conn, course_id) or (None, [])
                live.update(progress_table(view, found))
                if view is not None and view.status in FINISHED:
                    return view
                await asyncio.sleep(0.5)
    return view


@courses_app.command("request")
def courses_request(
    subject: Annotated[str, typer.Option("--subject", help="math, or a content pack's subject")],
    grade: Annotated[int, typer.Option("--grade", help="school grade 1-12")],
    topic: Annotated[str | None, typer.Option("--topic")] = None,
    candidates: Annotated[
        int | None, typer.Option("--candidates", "-k", help="K candidates (the candidate path)")
    ] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="rules, llm or auto")] = None,
    groups: Annotated[int, typer.Option("--groups")] = 3,
    items_per_group: Annotated[int, typer.Option("--items-per-group")] = 5,
    modes: Annotated[str, typer.Option("--modes", help="options,numeric")] = "options,numeric",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow it live")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds to follow it")] = 300.0,
) -> None:
    """Ask for a worksheet course and follow its candidates live."""
    if strategy is not None and strategy not in STRATEGIES:
        raise fail(f"--strategy: no strategy {strategy!r} (known: {', '.join(STRATEGIES)})", 2)
    try:
        request = CourseRequested(
            course_id=uuid.uuid4(),
            subject=subject,
            grade=grade,
            topic=topic,
            groups=groups,
            items_per_group=items_per_group,
            modes=parse_modes(modes),
            candidate_count=candidates,
            strategy=strategy,  # type: ignore[arg-type]
        )
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors(include_url=False)[0]
            where = "--" + str(first["loc"][0]).replace("_", "-").replace(
                "candidate-count", "candidates"
            )
            raise fail(f"{where}: {first['msg']}", 2) from None
        raise fail(str(exc), 2) from None

    async def publish() -> None:
        from services.bus.admin import ensure_topics
        from services.bus.producer import EventPublisher

        s = get_settings()
        await ensure_topics(s)
        async with EventPublisher(s, client_id="cli") as pub:
            await pub.publish([Envelope.new(request, source="cli")])

    run(publish())
    console.print(f"requested course {request.course_id}")
    if not wait:
        return
    view = run(_follow(request.course_id, timeout))
    if view is None or view.status not in FINISHED:
        raise fail(f"course {request.course_id} still generating after {timeout:.0f}s")
    for line in outcome_lines(view):
        console.print(line)
    if view.status != "SELECTED":
        raise typer.Exit(1)


@courses_app.command("show")
def courses_show(
    course_id: Annotated[str, typer.Argument(help="the course id")],
    as_json: Annotated[bool, typer.Option("--json", help="the views as JSON")] = False,
) -> None:
    """A course: its items, job summary and candidates."""
    try:
        cid = uuid.UUID(course_id)
    except ValueError:
        raise fail(f"{course_id!r} is not a course id (a UUID)", 2) from None
    view, found = run(_read(cid))
    if view is None:
        raise fail(f"no course {cid}")
    if as_json:
        data = {
            "course": view.model_dump(mode="json"),
            "candidates": [c.model_dump(mode="json", exclude={"course"}) for c in found],
        }
        console.print_json(orjson.dumps(data).decode())
        return
    parts: list[Any] = [progress_table(view, found)]
    if view.course:
        parts.append(course_table(view))
    console.print(Group(*parts))
    for line in outcome_lines(view):
        console.print(line)
