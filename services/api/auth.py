"""Bearer-token authentication for every endpoint but ``/healthz`` and the docs page.

The web console (``/console``) is the exception: people sign in there once
with the token and carry a signed session cookie, which the console's gate
checks instead. A session opens only the console, never ``/v1/*`` or
``/openapi.json``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from fastapi.security import HTTPBearer
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.docs import DOCS_PATH, STATIC_PREFIX
from services.api.errors import error_response

if TYPE_CHECKING:
    from services.api.console.gate import ConsoleGate

__all__ = ["OPEN_PATHS", "BearerAuth", "bearer_scheme", "is_open"]

# The docs page and its assets hold no data; the page asks for the token and
# fetches /openapi.json with it.
OPEN_PATHS = frozenset({"/healthz", DOCS_PATH})

# Declares the scheme in the OpenAPI document; ``BearerAuth`` enforces it.
bearer_scheme = HTTPBearer(auto_error=False, description="NLS_API_TOKEN")


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(STATIC_PREFIX)


class BearerAuth:
    """ASGI middleware: a request without the right token gets 401 before any route runs.

    It guards the OpenAPI document too, which route dependencies would not.
    """

    def __init__(self, app: ASGIApp, token: str, console: ConsoleGate | None = None) -> None:
        if not token:
            raise ValueError("the API needs a bearer token: set NLS_API_TOKEN")
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._console is not None and self._console.is_console(scope["path"]):
            if self._console.admit(scope):
                await self.app(scope, receive, send)
            else:
                await self._console.refusal(scope)(scope, receive, send)
            return
        given = Request(scope).headers.get("authorization", "").encode()
        if not secrets.compare_digest(given, self._expected):
            response = error_response(
                401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
