"""The platform's HTTP API in a test's process: the app ``create_app`` assembles, with its
lifespan, behind an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from services.settings import Settings

__all__ = ["AUTH", "api_client"]

AUTH = {"Authorization": "Bearer test-token"}  # the token tests/conftest.py gives settings


@asynccontextmanager
async def api_client(
    settings: Settings, *, authorized: bool = True, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API; ``authorized`` sends the test token with every request."""
    from services.api.app import create_app

    app = create_app(settings, **overrides)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            headers=AUTH if authorized else None,
        ) as client,
    ):
        yield client
