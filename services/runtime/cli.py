"""What every ``nls`` command shares, the families' included: consoles, error exits,
running coroutines, reads, progress bars, and the platform.

A command reports an ``NlsError`` as a message and an exit code; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from events.errors import NlsError
from services.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from services.bootstrap import Platform

__all__ = ["console", "err", "fail", "platform", "progress_bar", "read", "run"]

console = Console()
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except NlsError as exc:
        raise fail(str(exc).strip("'\"")) from None


def platform(**overrides: Any) -> Platform:
    """The platform as the environment (and a running dev stack) configures it."""
    from services.bootstrap import bootstrap

    return bootstrap(get_settings(), **overrides)


def read(query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run one read-only query against the read models."""

    async def go() -> T:
        async with platform().deps() as deps, deps.read_engine().connect() as conn:
            return await query(conn)

    return run(go())


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
