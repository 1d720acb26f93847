"""What every console page uses: its context, the session, forms with CSRF, reads, rendering.

Forms are ``application/x-www-form-urlencoded`` (plain HTML forms), parsed
here without a multipart dependency and capped in size. Every POST goes
through ``posted``: the session's CSRF token must be in the form, or the
action is refused with 403 and nothing happens. Reads use the API's read-only
engine, one connection per read, so a read model that is not built yet costs
only its own section of a page ("not built yet"), never the page.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs

from fastapi import Request
from jinja2 import Environment
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import HTMLResponse

from services.api.console.gate import STATE_KEY, ConsoleGate
from services.api.console.render import NOT_BUILT, NotBuilt, html_response
from services.api.console.session import CsrfError, Session
from services.api.deps import State, database
from services.api.errors import ApiError

if TYPE_CHECKING:
    from services.bootstrap import Platform

__all__ = [
    "MAX_FORM_BYTES",
    "NAV",
    "ConsoleContext",
    "ConsoleProblem",
    "Form",
    "FormError",
    "NotBuilt",
    "console_of",
    "posted",
    "read",
    "render",
    "session_of",
]

T = TypeVar("T")
MAX_FORM_BYTES = 64 * 1024

# (path, label): the pages, in the order of the navigation
NAV = (
    ("/console/generate", "Generate"),
    ("/console/courses", "Courses"),
    ("/console/drills", "Drills"),
    ("/console/learners", "Learners"),
    ("/console/operations", "Operations"),
)


@dataclass
class ConsoleContext:
    platform: Platform
    gate: ConsoleGate
    env: Environment
    families: frozenset[str] = field(default_factory=frozenset)

    def installed(self, family: str) -> bool:
        return family in self.families


class ConsoleProblem(Exception):
    """A page or action that cannot be answered: rendered as an error page."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail


def console_of(request: Request) -> ConsoleContext:
    found: ConsoleContext = request.app.state.console
    return found


def session_of(request: Request) -> Session | None:
    """The session the gate admitted the request with (None on the sign-in page)."""
    session: Session | None = getattr(request.state, STATE_KEY, None)
    if session is None and not console_of(request).gate.is_public(request.url.path):
        # Reached without the gate (it runs in the API's middleware): check here too.
        session = console_of(request).gate.session_of(request.scope)
        if session is None:
            raise ConsoleProblem(401, "Signed out", "Sign in to use the console.")
    return session


@dataclass(frozen=True)
class Form:
    fields: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, [])]

    def number(self, name: str, default: int, *, lo: int, hi: int, label: str) -> int:
        text = self.get(name)
        if not text:
            return default
        try:
            value = int(text)
        except ValueError:
            raise FormError(name, f"{label} must be a whole number") from None
        if not lo <= value <= hi:
            raise FormError(name, f"{label} must be between {lo} and {hi}")
        return value


class FormError(ValueError):
    """One field of a form that cannot be used; the page shows it beside the field."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


async def form_of(request: Request) -> Form:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ConsoleProblem(413, "Form too large", f"At most {MAX_FORM_BYTES} bytes.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ConsoleProblem(400, "Unreadable form", "The form is not UTF-8.") from None
    fields = parse_qs(text, keep_blank_values=True, max_num_fields=200)
    # NUL cannot reach Postgres or an event: refuse it here, naming the field
    for name, values in fields.items():
        if any("\x00" in v for v in values):
            raise ConsoleProblem(400, "Unreadable form", f"The field {name!r} holds a NUL.")
    return Form(fields)


async def posted(request: Request) -> tuple[Session, Form]:
    """A POSTed form of a signed-in session, its CSRF token checked."""
    session = session_of(request)
    if session is None:
        raise ConsoleProblem(401, "Signed out", "Sign in to use the console.")
    form = await form_of(request)
    try:
        console_of(request).gate.signer.check_csrf(session, form.get("csrf") or None)
    except CsrfError as exc:
        raise ConsoleProblem(
            403,
            "Form refused",
            f"{exc.reason}. Nothing was done. Reload the page and try again.",
        ) from None
    return session, form


async def read(request: Request, query: Callable[[AsyncConnection], Awaitable[T]]) -> T | NotBuilt:
    """``query`` on its own read-only connection; ``NOT_BUILT`` when its tables are missing."""
    state: State = request.app.state.nls
    try:
        async with database(state.engine) as conn:
            return await query(conn)
    except ApiError as exc:
        raise ConsoleProblem(503, "Database unavailable", str(exc.detail)) from None
    except ProgrammingError as exc:
        if "does not exist" in str(exc):
            return NOT_BUILT
        raise


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    active: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page (or a fragment: a template whose name starts with ``_``)."""
    console = console_of(request)
    session = getattr(request.state, STATE_KEY, None)
    csrf = console.gate.signer.csrf_token(session) if session is not None else ""
    html = console.env.get_template(template).render(
        nav=NAV,
        active=active,
        signed_in=session is not None,
        csrf=csrf,
        now=time.time(),
        **context,
    )
    return html_response(html, status, headers)
