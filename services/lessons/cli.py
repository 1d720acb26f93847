"""``nls lessons``: generate a lesson with live phase progress, show it, improve it.

- ``generate --pack P --topic T [--must-have ...] [--prerequisite ...] [--strategy S]``
  publishes ``lesson-requested`` and follows the lesson's phases in the read model
  (``--local`` runs the whole pipeline in this process instead, no broker);
- ``show ID``: the current version's blocks in contract order, rendered;
- ``improve ID``: Phase 10 v2 now; prints "Improved! Score: 85 -> 93 (+8)",
  "Validation failed: ..." or "Score did not improve".
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table

from events.lessons import LessonPhase
from services.errors import NotFound, StillRunning
from services.runtime.cli import console, fail, read, run

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from projections.lessons import LessonView

__all__ = ["lessons_app", "phase_table", "render_lesson"]

lessons_app = typer.Typer(help="Lessons: the 10-phase pipeline.", no_args_is_help=True)

Strategy = Annotated[str, typer.Option("--strategy", "-s", help="rules, llm or auto")]


def phase_table(rows: Iterable[dict[str, Any]], title: str) -> Table:
    """Phases 1-10 with status, strategy, time and tokens (missing rows: waiting)."""
    by_phase = {r["phase"]: r for r in rows}
    table = Table("#", "phase", "status", "strategy", "ms", "tokens", title=title)
    for phase in LessonPhase:
        r = by_phase.get(phase.value, {})
        status = r.get("status", "waiting")
        colour = {"completed": "green", "skipped": "yellow", "requested": "cyan"}.get(status, "dim")
        tokens = (r.get("input_tokens") or 0) + (r.get("output_tokens") or 0)
        table.add_row(
            str(phase.number),
            phase.value.replace("_", " "),
            f"[{colour}]{status}[/]",
            r.get("strategy") or "",
            str(r["duration_ms"]) if r.get("duration_ms") is not None else "",
            str(tokens) if tokens else "",
        )
    return table


def _questions(qs: list[dict[str, Any]]) -> RenderableType:
    lines = []
    for q in qs:
        options = f"  options: {', '.join(q.get('options') or [])}" if q.get("options") else ""
        answers = " | ".join(q.get("expectedAnswer") or [])
        lines.append(f"- **{q.get('questionText')}** ({q.get('answerType')}){options}")
        lines.append(f"  - answer: {answers}")
    return Markdown("\n".join(lines))


def render_lesson(lesson: dict[str, Any]) -> list[RenderableType]:
    """Each block as a panel, in contract order."""
    out: list[RenderableType] = [
        Panel(
            f"{lesson.get('description', '')}\n[dim]{lesson.get('layout')} · "
            f"{lesson.get('unit')} · {lesson.get('section')}[/]",
            title=f"[bold]{lesson.get('title')}[/] ({lesson.get('id')})",
        )
    ]
    for b in sorted(lesson.get("blocks", []), key=lambda b: b.get("order", 0)):
        c = b.get("content", {})
        kind = b.get("type")
        body: RenderableType
        if kind == "outcomes":
            body = Markdown("\n".join(f"- {o['text']} ({o['level']})" for o in c["outcomes"]))
        elif kind == "vocab":
            body = Markdown("\n".join(f"- **{t['term']}**: {t['definition']}" for t in c["terms"]))
        elif kind == "diagram":
            body = Markdown(f"{c['description']}\n\n" + " | ".join(c["elements"]))
        elif kind == "explanation":
            body = Markdown(c["content"])
        elif kind == "worked-example":
            steps = "\n".join(
                f"{s['stepNumber']}. {s['description']}"
                + (f" — `{s['working']}`" if s.get("working") else "")
                + (f" → {s['result']}" if s.get("result") else "")
                for s in c["steps"]
            )
            body = Markdown(f"{c['given']}\n\n{steps}\n\n**Answer:** {c['finalAnswer']}")
        else:
            body = _questions(c.get("questions", []))
        title = c.get("title") or kind
        out.append(Panel(body, title=f"{b.get('order')} · {kind} · {title}", title_align="left"))
    return out


def _request(
    pack: str,
    topic: str,
    must_have: list[str],
    prerequisites: list[str],
    strategy: str,
    lesson_id: str | None,
) -> Any:
    from events.lessons import LessonRequested
    from services.lessons.api import new_lesson_id
    from services.lessons.material import MaterialError, PackLibrary, material_for
    from services.lessons.settings import LessonSettings
    from services.settings import get_settings

    library = PackLibrary(get_settings().section(LessonSettings).packs_dir)
    try:
        material = material_for(
            library.pack(pack), topic, must_have=must_have, prerequisites=prerequisites
        )
    except MaterialError as exc:
        raise fail(str(exc)) from None
    focus = material.focus[0]
    return LessonRequested(
        lesson_id=lesson_id or new_lesson_id(pack, topic),
        pack=pack,
        unit=focus.cluster_name,
        topic=topic,
        section=focus.slug if len(material.focus) == 1 else focus.cluster_slug,
        must_have_topics=must_have,
        prerequisites=prerequisites,
        strategy=strategy,  # type: ignore[arg-type]
        material=material,
    )


@lessons_app.command("generate")
def generate(
    pack: Annotated[str, typer.Option(help="content pack, e.g. ccna or cg2365")],
    topic: Annotated[str, typer.Option(help="a concept or cluster of the pack (slug or name)")],
    must_have: Annotated[
        list[str] | None, typer.Option("--must-have", help="a must-have topic or constraint")
    ] = None,
    prerequisite: Annotated[
        list[str] | None, typer.Option("--prerequisite", help="an earlier concept to review")
    ] = None,
    strategy: Strategy = "auto",
    lesson_id: Annotated[str | None, typer.Option("--lesson-id")] = None,
    local: Annotated[bool, typer.Option(help="run the pipeline in this process")] = False,
    timeout: Annotated[float, typer.Option(min=1, max=3600, help="seconds to follow it")] = 600,
) -> None:
    """Generate a lesson and follow its phases live."""
    if strategy not in ("rules", "llm", "auto"):
        raise fail(f"--strategy: no strategy {strategy!r} (known: rules, llm, auto)", 2)
    request = _request(pack, topic, must_have or [], prerequisite or [], strategy, lesson_id)
    console.print(
        f"lesson [bold]{request.lesson_id}[/]: {', '.join(c.name for c in request.material.focus)}"
    )
    if local:
        _generate_local(request, timeout)  # no read model: the lesson is shown here
    else:
        _generate_remote(request, timeout)
        console.print(f"show it with: nls lessons show {request.lesson_id}")


def _generate_local(request: Any, timeout: float) -> None:
    from events.lessons import LessonCompleted, LessonFailed, LessonPhaseCompleted
    from services.generation import build_gateway
    from services.lessons.local import LocalPipeline
    from services.lessons.saga import LessonState
    from services.lessons.settings import LessonSettings
    from services.settings import get_settings

    async def go() -> Any:
        async with build_gateway(get_settings().generation) as gateway:
            pipeline = LocalPipeline(gateway, settings=get_settings().section(LessonSettings))
            with Live(console=console, refresh_per_second=8) as live:

                def rows() -> list[dict[str, Any]]:
                    out = []
                    for e in pipeline.log.of(LessonPhaseCompleted, request.lesson_id):
                        p = e.payload_as(LessonPhaseCompleted)
                        usage = p.usage
                        out.append(
                            {
                                "phase": p.phase.value,
                                "status": p.status.value,
                                "strategy": usage.strategy if usage else "",
                                "duration_ms": p.duration_ms,
                                "input_tokens": usage.input_tokens if usage else 0,
                                "output_tokens": usage.output_tokens if usage else 0,
                            }
                        )
                    return out

                def ended(log: Any) -> bool:
                    live.update(phase_table(rows(), f"lesson {request.lesson_id}"))
                    return bool(
                        log.of(LessonCompleted, request.lesson_id)
                        or log.of(LessonFailed, request.lesson_id)
                    )

                from events import Envelope

                await pipeline.publish([Envelope.new(request, source="cli")])
                await pipeline.drive(ended, timeout=timeout)
            stored = pipeline.log.saga_store.get(request.lesson_id)
            state = stored.state if stored else None
            lesson = state.lesson if isinstance(state, LessonState) else None
            found = pipeline.log.of(LessonCompleted, request.lesson_id) or pipeline.log.of(
                LessonFailed, request.lesson_id
            )
            return found[0].payload, lesson

    outcome, lesson = run(go())
    if lesson is not None:
        console.print(Group(*render_lesson(lesson)))
    _report(outcome)


def _report(outcome: Any) -> None:
    from events.lessons import LessonCompleted

    if isinstance(outcome, LessonCompleted):
        refined = " (refined)" if outcome.refined else ""
        console.print(f"completed: version {outcome.version}, score {outcome.score:g}{refined}")
        return
    raise fail(f"failed in {outcome.phase.value}: {outcome.reason}")


async def _view(conn: AsyncConnection, lesson_id: str) -> LessonView | None:
    """The lesson; None while it is unknown, or while the projector has not made the read
    model's tables yet (a fresh stack), so a follower keeps waiting instead of failing."""
    from sqlalchemy.exc import ProgrammingError

    from projections.lessons import lesson_of

    try:
        return await lesson_of(conn, lesson_id)
    except ProgrammingError as exc:
        if "does not exist" not in str(exc):
            raise
        return None


async def _known(conn: AsyncConnection, lesson_id: str) -> LessonView | None:
    """The lesson, or None when there is no such lesson; a read model not built yet is
    said as such, not as a missing lesson."""
    from sqlalchemy import inspect

    from projections.db import conn_schema

    found = await _view(conn, lesson_id)
    if found is None:
        schema = conn_schema(conn)
        built = await conn.run_sync(lambda c: inspect(c).has_table("lessons", schema=schema))
        if not built:
            raise NotFound("the lessons read model is not built yet: is the projector running?")
    return found


def _generate_remote(request: Any, timeout: float) -> None:
    from events import Envelope
    from projections.db import make_engine
    from services.bus.admin import ensure_topics
    from services.bus.producer import EventPublisher
    from services.settings import get_settings

    async def go() -> Any:
        s = get_settings()
        await ensure_topics(s)
        async with EventPublisher(s, client_id="cli") as pub:
            await pub.publish([Envelope.new(request, source="cli")])
        engine = make_engine(s, read_only=True)
        deadline = time.monotonic() + timeout
        try:
            with Live(console=console, refresh_per_second=4) as live:
                while time.monotonic() < deadline:
                    async with engine.connect() as conn:
                        view = await _view(conn, request.lesson_id)
                    if view is not None:
                        rows = [p.model_dump() for p in view.phases]
                        live.update(phase_table(rows, f"lesson {view.lesson_id}: {view.status}"))
                        if view.status in ("completed", "failed"):
                            return view
                    await asyncio.sleep(0.5)
        finally:
            await engine.dispose()
        raise StillRunning(f"lesson {request.lesson_id} still running after {timeout:.0f}s")

    view = run(go())
    if view.status == "failed":
        raise fail(f"failed: {view.failure}")
    console.print(f"completed: version {view.current_version}, score {view.score:g}")


@lessons_app.command("show")
def show(
    lesson_id: Annotated[str, typer.Argument(help="the lesson id")],
    as_json: Annotated[bool, typer.Option("--json", help="print the lesson's JSON")] = False,
) -> None:
    """The lesson's current version, block by block in contract order."""
    view = read(lambda conn: _known(conn, lesson_id))
    if view is None:
        raise fail(f"no lesson {lesson_id!r}")
    if view.lesson is None:
        raise fail(f"lesson {lesson_id!r} is {view.status}: no assembled version yet")
    if as_json:
        console.print_json(data=view.lesson)
        return
    console.print(Group(*render_lesson(view.lesson)))
    score = f"{view.score:g}" if view.score is not None else "not scored"
    console.print(f"version {view.current_version} · score {score} · {view.status}")


@lessons_app.command("improve")
def improve(
    lesson_id: Annotated[str, typer.Argument(help="the lesson id")],
    strategy: Annotated[
        str | None, typer.Option("--strategy", "-s", help="rules, llm or auto")
    ] = None,
    timeout: Annotated[float, typer.Option(min=1, max=3600, help="seconds to wait")] = 300,
) -> None:
    """Run Phase 10 v2 on a lesson now and say what came of it."""
    from events import Envelope
    from events.lessons import LessonImproveRequested
    from projections.db import make_engine
    from projections.lessons import refinement_of
    from services.bus.producer import EventPublisher
    from services.lessons.api import body_of
    from services.lessons.improve import message
    from services.settings import get_settings

    if strategy not in (None, "rules", "llm", "auto"):
        raise fail(f"--strategy: no strategy {strategy!r} (known: rules, llm, auto)", 2)
    if read(lambda conn: _known(conn, lesson_id)) is None:
        raise fail(f"no lesson {lesson_id!r}")
    request = LessonImproveRequested(
        lesson_id=lesson_id,
        request_id=uuid.uuid4(),
        strategy=strategy,  # type: ignore[arg-type]
    )

    async def go() -> Any:
        s = get_settings()
        async with EventPublisher(s, client_id="cli") as pub:
            await pub.publish([Envelope.new(request, source="cli")])
        engine = make_engine(s, read_only=True)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                async with engine.connect() as conn:
                    found = await refinement_of(conn, lesson_id, request.request_id)
                if found is not None and found.outcome is not None:
                    return found
                await asyncio.sleep(0.5)
        finally:
            await engine.dispose()
        raise StillRunning(f"no verdict for {lesson_id} after {timeout:.0f}s")

    body = body_of(run(go()))
    console.print(message(body))
    if not body.success:
        raise typer.Exit(1)
