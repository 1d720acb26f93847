"""Bearer-token authentication for every endpoint but ``/healthz``."""

from __future__ import annotations

import secrets

from fastapi.security import HTTPBearer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["OPEN_PATHS", "BearerAuth", "bearer_scheme"]

OPEN_PATHS = frozenset({"/healthz"})

# Declares the scheme in the OpenAPI document; ``BearerAuth`` enforces it.
bearer_scheme = HTTPBearer(auto_error=False, description="NLS_API_TOKEN")


class BearerAuth:
    """ASGI middleware: a request without the right token gets 401 before any route runs.

    It guards the OpenAPI document and docs too, which route dependencies would not.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("the API needs a bearer token: set NLS_API_TOKEN")
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.headers.get("authorization", "").encode()
        if not secrets.compare_digest(given, self._expected):
            response: Response = JSONResponse(
                {"detail": "missing or invalid bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
