"""Mounting the console in the API app: its gate, its pages, its error pages.

``console_gate(token)`` makes the gate the bearer-token middleware consults;
``install_console(app, platform, gate)`` adds the pages (none of them in the
OpenAPI document) and renders ``ConsoleProblem`` as an HTML page with its
status, so a refused form or a missing thing reads as a page, not JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from services.api.console import (
    courses_page,
    drills_page,
    generate_page,
    learners_page,
    operations_page,
    signin,
)
from services.api.console.core import ConsoleContext, ConsoleProblem, render
from services.api.console.gate import SIGNIN_PATH, ConsoleGate
from services.api.console.render import SECURITY_HEADERS, environment
from services.api.console.session import SessionSigner

if TYPE_CHECKING:
    from services.bootstrap import Platform

__all__ = ["console_gate", "install_console"]


def console_gate(api_token: str) -> ConsoleGate:
    return ConsoleGate(SessionSigner(api_token))


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleProblem)
    if exc.status == 401:
        return RedirectResponse(SIGNIN_PATH, status_code=303, headers=SECURITY_HEADERS)
    back = request.headers.get("referer") or request.url.path
    if not back.startswith(("/console", str(request.base_url).rstrip("/") + "/console")):
        back = "/console/generate"
    return render(
        request, "error.html", status=exc.status, title=exc.title, detail=exc.detail, back=back
    )


def install_console(app: FastAPI, platform: Platform, gate: ConsoleGate) -> None:
    app.state.console = ConsoleContext(
        platform=platform,
        gate=gate,
        env=environment(),
        families=frozenset(f.name for f in platform.families),
    )
    app.include_router(signin.public)
    for router in (
        signin.signed_in,
        generate_page.router,
        courses_page.router,
        drills_page.router,
        learners_page.router,
        operations_page.router,
    ):
        app.include_router(router)
    app.add_exception_handler(ConsoleProblem, _problem)
