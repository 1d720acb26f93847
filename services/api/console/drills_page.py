"""Drills: request a series, watch "Generated X/Y drills (Batch A/B)" rise, read each drill
with its position drawn from the GNU Backgammon position id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from events import Envelope
from events.drills import DrillSeriesRequested, GamePhase
from projections.drills import SeriesView, recent_series, series_of
from services.api.console.board import PositionIdError, decode_position_id
from services.api.console.board_svg import render_board_svg
from services.api.console.core import (
    FormError,
    NotBuilt,
    console_of,
    posted,
    read,
    render,
)
from services.api.console.render import SECURITY_HEADERS
from services.api.deps import State

__all__ = ["DrillCard", "drill_cards", "router"]

router = APIRouter(include_in_schema=False)
FINAL = ("COMPLETED", "FAILED")


@dataclass(frozen=True)
class DrillCard:
    """One drill as the page shows it: its board (or why there is none) and its text."""

    index: int
    batch_index: int
    batch_status: str
    phase: str
    position_id: str
    dice: tuple[int, int] | None
    svg: str | None
    board_error: str | None
    drill: dict[str, Any] | None
    error: str | None


def _dice(text: str) -> tuple[int, int] | None:
    high, sep, low = text.partition("-")
    if sep and high.isdigit() and low.isdigit() and 1 <= int(high) <= 6 and 1 <= int(low) <= 6:
        return int(high), int(low)
    return None


def drill_cards(view: SeriesView) -> list[DrillCard]:
    cards = []
    for row in view.drills:
        position_id = str(row["position_id"])
        dice = _dice(str(row["dice"]))
        svg = error = None
        try:
            svg = render_board_svg(
                decode_position_id(position_id),
                dice,
                title=f"Drill {row['index'] + 1}: position {position_id}",
                dom_id=f"board-{row['index']}",
            )
        except PositionIdError as exc:
            error = str(exc)
        cards.append(
            DrillCard(
                index=int(row["index"]),
                batch_index=int(row["batch_index"]),
                batch_status=str(row["batch_status"]),
                phase=str(row["phase"]),
                position_id=position_id,
                dice=dice,
                svg=svg,
                board_error=error,
                drill=row.get("drill"),
                error=row.get("error"),
            )
        )
    return cards


def _progress(view: SeriesView) -> str:
    return view.progress  # the seed's line, as the CLI prints it


async def _page(
    request: Request, *, status: int = 200, errors: dict[str, str] | None = None, **form: Any
) -> Response:
    series_id = request.query_params.get("series")
    view: SeriesView | NotBuilt | None = None
    if series_id:
        try:
            wanted = uuid.UUID(series_id)
        except ValueError:
            wanted = None
        view = await read(request, lambda c: series_of(c, wanted)) if wanted else None
    recent = await read(request, recent_series)
    return render(
        request,
        "drills.html",
        status=status,
        active="/console/drills",
        installed=console_of(request).installed("drills"),
        phases=[p.value for p in GamePhase],
        recent=recent,
        series_id=series_id,
        view=view,
        cards=drill_cards(view) if isinstance(view, SeriesView) else [],
        progress=_progress(view) if isinstance(view, SeriesView) else "",
        final=isinstance(view, SeriesView) and view.status in FINAL,
        errors=errors or {},
        form={"drills": "10", "phases": ["OPENING"], "batch_size": "5", "seed": ""} | form,
    )


@router.get("/console/drills")
async def drills_page(request: Request) -> Response:
    return await _page(request)


@router.post("/console/drills")
async def request_series(request: Request) -> Response:
    _, form = await posted(request)
    values = {
        "drills": form.get("drills"),
        "phases": form.all("phases"),
        "batch_size": form.get("batch_size"),
        "seed": form.get("seed"),
    }
    try:
        phases = [GamePhase(p) for p in form.all("phases")]
        if not phases:
            raise FormError("phases", "Pick at least one game phase")
        seed_text = form.get("seed")
        request_ = DrillSeriesRequested(
            artifact_id=uuid.uuid4(),
            project_id="console",
            target_drill_count=form.number("drills", 10, lo=1, hi=200, label="Drills"),
            game_phases=phases,
            batch_size=form.number("batch_size", 5, lo=1, hi=50, label="Batch size"),
            batched=form.get("single") != "on",
            seed=form.number("seed", 0, lo=0, hi=2**31 - 1, label="Seed") if seed_text else None,
        )
    except FormError as exc:
        return await _page(request, status=422, errors={exc.name: exc.message}, **values)
    except (ValueError, ValidationError) as exc:
        return await _page(request, status=422, errors={"phases": str(exc)}, **values)
    state: State = request.app.state.nls
    await state.publisher.publish([Envelope.new(request_, source="console")])
    return RedirectResponse(
        f"/console/drills?series={request_.artifact_id}", status_code=303, headers=SECURITY_HEADERS
    )


@router.get("/console/drills/{artifact_id}/live")
async def series_live(request: Request, artifact_id: uuid.UUID) -> Response:
    view = await read(request, lambda c: series_of(c, artifact_id))
    final = isinstance(view, SeriesView) and view.status in FINAL
    return render(
        request,
        "_drill_series.html",
        view=view,
        series_id=str(artifact_id),
        cards=drill_cards(view) if isinstance(view, SeriesView) else [],
        progress=_progress(view) if isinstance(view, SeriesView) else "",
        final=final,
        headers={"X-Console-Final": "1"} if final else None,
    )
