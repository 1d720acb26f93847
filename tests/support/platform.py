"""The platform's agents in a test's process, assembled by ``bootstrap`` like everywhere else.

Tests pass overrides (a fake gateway, a fake store) instead of copying wiring; a faust
agent runs inline (its handler or saga on the batched runner, behind the same guard).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from services.bootstrap import bootstrap
from services.settings import Settings

__all__ = ["agent", "projector"]

Main = Callable[[asyncio.Event], Awaitable[None]]


def agent(settings: Settings, name: str, **overrides: Any) -> Main:
    """Agent ``name`` of the platform, as a main for ``helpers.background``."""
    platform = bootstrap(settings, **overrides)
    return lambda stop: platform.run(name, stop, inline=True)


def projector(settings: Settings, *names: str) -> Main:
    """The projector, folding the named read models (all when none is named)."""
    platform = bootstrap(settings)
    return lambda stop: platform.run("projector", stop, projections=names)
