"""``nls`` in a test's process, configured by a test's settings."""

from __future__ import annotations

import asyncio
import subprocess

from typer.testing import CliRunner, Result

from services.settings import Settings, get_settings
from tools.cli.main import app

__all__ = ["invoke", "nls", "said"]


def _invoke(settings: Settings, args: tuple[str, ...], answer: str | None) -> Result:
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), input=answer, env=settings.child_env())
    finally:
        get_settings.cache_clear()


async def invoke(settings: Settings, *args: str, answer: str | None = None) -> Result:
    """``nls ARGS``, in a thread: the command runs its own event loop beside the test's."""
    return await asyncio.to_thread(_invoke, settings, args, answer)


def said(result: Result) -> str:
    """The output with its line wrapping undone."""
    return " ".join(result.output.split())


async def nls(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``nls ARGS`` as its own process, as a user runs it."""
    from tests.conftest import PYTHON, ROOT, child_env

    return await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "-m", "tools.cli", *args],
        env=child_env(settings, COLUMNS="200", NLS_LOG_LEVEL="warning"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
