"""Operations: dead letters (with their original bytes, and a replay), projector lag per read
model, model usage and cost by family, and the workflow view built from the log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from events import Context, TopicNames
from projections.dead_letters import DeadLetterDetail, dead_letter_at, dead_letters
from projections.usage import UsageStatsView, usage_stats
from projections.workflows import StepView, recent_workflows, workflow_steps
from services.api.console.core import ConsoleContext, ConsoleProblem, console_of, posted, read
from services.api.console.core import render as render_page
from services.api.console.queries import projector_lag
from services.api.console.render import SECURITY_HEADERS
from services.api.deps import State
from services.runtime.dead_letters import DeadLetterInfo
from services.runtime.dlq_replay import ReplayFilter, Source
from services.runtime.dlq_replayer import DeadLetterLogError, replay_dead_letters

__all__ = [
    "FamilyUsage",
    "OneOriginal",
    "Shown",
    "router",
    "shown_bytes",
    "step_link",
    "usage_by_family",
]

router = APIRouter(include_in_schema=False)
TopicPath = Path(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True, slots=True)
class OneOriginal(ReplayFilter):
    """A replay filter that selects the dead letters of one original record."""

    source: Source | None = None

    def matches(self, info: DeadLetterInfo) -> bool:
        return (
            self.source is not None
            and Source(info.source_topic, info.source_partition, info.source_offset) == self.source
        )


@dataclass(frozen=True)
class Shown:
    """Bytes as a person reads them: JSON when they decode, else text or hex."""

    kind: str  # json, text, binary, empty
    text: str


def shown_bytes(raw: bytes | None) -> Shown:
    if not raw:
        return Shown("empty", "")
    try:
        return Shown("json", orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2).decode())
    except orjson.JSONDecodeError:
        pass
    try:
        return Shown("text", raw.decode("utf-8"))
    except UnicodeDecodeError:
        head = raw[:512]
        rows = [head[i : i + 16].hex(" ") for i in range(0, len(head), 16)]
        more = f"\n… {len(raw) - 512} more bytes" if len(raw) > 512 else ""
        return Shown("binary", "\n".join(rows) + more)


@dataclass(frozen=True)
class FamilyUsage:
    """Generation calls of one family, every task, strategy and provider together."""

    family: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    fallbacks: int
    strategies: tuple[str, ...]


def usage_by_family(rows: Sequence[UsageStatsView]) -> list[FamilyUsage]:
    """Usage rows summed per family (``lessons.planning`` counts under ``lessons``), the
    costliest first."""
    groups: dict[str, list[UsageStatsView]] = {}
    for row in rows:
        groups.setdefault(row.family.split(".")[0], []).append(row)
    out = [
        FamilyUsage(
            family=family,
            calls=sum(r.calls for r in group),
            input_tokens=sum(r.input_tokens for r in group),
            output_tokens=sum(r.output_tokens for r in group),
            cost_usd=sum(r.cost_usd for r in group),
            fallbacks=round(sum(r.fallback_rate * r.calls for r in group)),
            strategies=tuple(sorted({r.strategy for r in group})),
        )
        for family, group in groups.items()
    ]
    return sorted(out, key=lambda u: (-u.cost_usd, -u.calls, u.family))


def step_link(step: StepView, names: TopicNames, families: frozenset[str]) -> str | None:
    """The console page of the thing a step is about, when there is one."""
    try:
        context = names.context_of(step.topic)
    except ValueError:
        return None
    pages = {
        Context.DRILLS: ("drills", "/console/drills?series="),
        Context.COURSES: ("courses", "/console/courses?course="),
        Context.LESSONS: ("lessons", "/console/generate?lesson="),
        Context.LEARNING: ("diagnosis", "/console/learners?learner="),
    }
    found = pages.get(context)
    if found is None or found[0] not in families:
        return None
    if context is Context.DRILLS and not step.event_type.startswith(("drill-", "batch-")):
        return None  # library positions are keyed by engine and position, not a series
    return found[1] + step.key


def render(request: Request, template: str, **context: Any) -> Response:
    return render_page(request, template, active="/console/operations", **context)


@router.get("/console/operations")
async def operations_page(request: Request) -> Response:
    state: State = request.app.state.nls
    console: ConsoleContext = console_of(request)
    everything = request.query_params.get("all") == "1"
    try:
        lag: Any = await projector_lag(state, console.platform)
        lag_error = None
    except Exception as exc:  # the broker is down: the rest of the page still helps
        lag, lag_error = [], f"{type(exc).__name__}: {exc}"
    usage = await read(request, usage_stats)
    return render(
        request,
        "operations.html",
        letters=await read(request, lambda c: dead_letters(c, limit=50)),
        lag=lag,
        lag_error=lag_error,
        usage=usage,
        families=usage_by_family(usage) if isinstance(usage, list) else [],
        workflows=await read(
            request, lambda c: recent_workflows(c, limit=25, min_events=1 if everything else 2)
        ),
        everything=everything,
    )


@router.get("/console/operations/workflows")
async def open_workflow(request: Request) -> Response:
    """The 'open a workflow' form: a correlation id (or an event id of it) to its page."""
    text = (request.query_params.get("id") or "").strip()
    try:
        wanted = uuid.UUID(text)
    except ValueError:
        raise ConsoleProblem(422, "Not a workflow id", f"{text[:80]!r} is not a UUID.") from None
    return RedirectResponse(
        f"/console/operations/workflows/{wanted}", status_code=303, headers=SECURITY_HEADERS
    )


@router.get("/console/operations/workflows/{correlation_id}")
async def workflow_page(request: Request, correlation_id: uuid.UUID) -> Response:
    steps = await read(request, lambda c: workflow_steps(c, correlation_id))
    if isinstance(steps, list) and not steps:
        raise ConsoleProblem(
            404, "No such workflow", f"No events with correlation id {correlation_id}."
        )
    console = console_of(request)
    names = request.app.state.nls.settings.topics()
    links = (
        {s.event_id: step_link(s, names, console.families) for s in steps}
        if isinstance(steps, list)
        else {}
    )
    return render(
        request,
        "workflow.html",
        correlation_id=correlation_id,
        steps=steps,
        links=links,
        totals=_totals(steps) if isinstance(steps, list) else None,
    )


def _totals(steps: list[StepView]) -> dict[str, Any]:
    return {
        "events": len(steps),
        "span_ms": max((s.since_start_ms for s in steps), default=0.0),
        "model_calls": sum(s.model_calls for s in steps),
        "input_tokens": sum(s.input_tokens or 0 for s in steps),
        "output_tokens": sum(s.output_tokens or 0 for s in steps),
        "cost_usd": sum(s.cost_usd or 0.0 for s in steps),
    }


async def _letter(request: Request, topic: str, partition: int, offset: int) -> DeadLetterDetail:
    found = await read(request, lambda c: dead_letter_at(c, topic, partition, offset))
    if not isinstance(found, DeadLetterDetail):
        raise ConsoleProblem(
            404, "No such dead letter", f"Nothing at {topic}:{partition}@{offset}."
        )
    return found


@router.get("/console/operations/dead-letters/{topic}/{partition}/{offset}")
async def dead_letter_page(
    request: Request, partition: int, offset: int, topic: str = TopicPath
) -> Response:
    letter = await _letter(request, topic, partition, offset)
    replayed = request.query_params.get("replayed")
    return render(
        request,
        "dead_letter.html",
        letter=letter,
        original=shown_bytes(letter.original),
        key=shown_bytes(letter.key),
        replayed=int(replayed) if replayed and replayed.isdigit() else None,
    )


@router.post("/console/operations/dead-letters/{topic}/{partition}/{offset}/replay")
async def replay(request: Request, partition: int, offset: int, topic: str = TopicPath) -> Response:
    await posted(request)
    letter = await _letter(request, topic, partition, offset)
    state: State = request.app.state.nls
    source = Source(letter.source_topic, letter.source_partition, letter.source_offset)
    try:
        plan = await replay_dead_letters(
            state.settings,
            OneOriginal(source=source),
            publisher=state.publisher,
            engine=state.engine,
            replayed_by="console",
        )
    except DeadLetterLogError as exc:
        raise ConsoleProblem(503, "Broker unavailable", str(exc)) from None
    here = f"/console/operations/dead-letters/{topic}/{partition}/{offset}"
    return RedirectResponse(
        f"{here}?replayed={len(plan.originals)}", status_code=303, headers=SECURITY_HEADERS
    )
