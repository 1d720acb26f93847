"""Who may see the console: the gate the API's bearer-token middleware consults.

``/console/sign-in`` and ``/console/static/`` are open (a form and assets: no
data). Every other ``/console`` request needs a valid, unrevoked session
cookie; the gate puts the verified session on the request's state for the
pages, and answers anything else with a way back: a page or a form post is
redirected to sign-in (remembering where it was going), a live fragment gets
401 so its script can send the browser there. A session opens nothing but the
console: ``/v1/*`` and ``/openapi.json`` keep needing the bearer token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from urllib.parse import quote

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Scope

from services.api.console.session import Revocations, Session, SessionError, SessionSigner

__all__ = [
    "CONSOLE_PREFIX",
    "FRAGMENT_SUFFIX",
    "SESSION_COOKIE",
    "SIGNIN_COOKIE",
    "SIGNIN_PATH",
    "STATIC_PREFIX",
    "ConsoleGate",
    "cookie_value",
    "safe_next",
]

CONSOLE_PREFIX = "/console"
SIGNIN_PATH = "/console/sign-in"
STATIC_PREFIX = "/console/static/"
FRAGMENT_SUFFIX = "/live"
SESSION_COOKIE = "nls_console"
SIGNIN_COOKIE = "nls_console_signin"
STATE_KEY = "console_session"


def cookie_value(scope: Scope, name: str) -> str | None:
    """The value of cookie ``name`` in the request's Cookie header(s)."""
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                continue  # a malformed header is no session
            if name in jar:
                return jar[name].value
    return None


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if (
        target
        and target.startswith(CONSOLE_PREFIX + "/")
        and not target.startswith("//")
        and "\\" not in target
        and not target.startswith(SIGNIN_PATH)
    ):
        return target
    return CONSOLE_PREFIX + "/generate"


class ConsoleGate:
    def __init__(
        self,
        signer: SessionSigner,
        revocations: Revocations | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.revocations = revocations or Revocations()
        self.clock = clock

    @staticmethod
    def is_console(path: str) -> bool:
        return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")

    @staticmethod
    def is_public(path: str) -> bool:
        return path == SIGNIN_PATH or path.startswith(STATIC_PREFIX)

    def session_of(self, scope: Scope) -> Session | None:
        """The request's valid, unrevoked console session, or None."""
        try:
            session = self.signer.verify(cookie_value(scope, SESSION_COOKIE), self.clock())
        except SessionError:
            return None
        return None if self.revocations.revoked(session) else session

    def admit(self, scope: Scope) -> bool:
        """Whether the request may reach the console; keeps its session on the state."""
        if self.is_public(scope["path"]):
            return True
        session = self.session_of(scope)
        if session is None:
            return False
        scope.setdefault("state", {})[STATE_KEY] = session
        return True

    def refusal(self, scope: Scope) -> Response:
        path: str = scope["path"]
        if path.endswith(FRAGMENT_SUFFIX):
            return HTMLResponse(
                '<p class="problem" role="alert">Your session ended: '
                f'<a href="{SIGNIN_PATH}">sign in again</a>.</p>',
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        query = scope.get("query_string", b"").decode("latin-1")
        here = path + (f"?{query}" if query and scope.get("method") == "GET" else "")
        return RedirectResponse(
            f"{SIGNIN_PATH}?next={quote(safe_next(here), safe='')}",
            status_code=303,
            headers={"Cache-Control": "no-store"},
        )
