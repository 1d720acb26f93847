"""What every ``nls`` command shares: consoles, error exits, running coroutines, reads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncConnection

from services.settings import get_settings

__all__ = ["console", "err", "fail", "read", "run"]

console = Console()
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise fail(str(exc).strip("'\"")) from None


def read(query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run one read-only query against the read models."""
    from projections.db import make_engine

    async def go() -> T:
        engine = make_engine(get_settings(), read_only=True)
        try:
            async with engine.connect() as conn:
                return await query(conn)
        finally:
            await engine.dispose()

    return run(go())
