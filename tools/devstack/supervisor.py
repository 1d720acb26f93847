"""A small process supervisor: start children, restart the ones that crash, stop all cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

__all__ = ["Child", "Supervisor"]

log = structlog.get_logger(__name__)


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    restarts: int = 0
    proc: asyncio.subprocess.Process | None = None


class Supervisor:
    """Keeps every child running until ``stop``; a crashed child is logged and restarted
    after a backoff that grows with quick successive crashes."""

    def __init__(self, children: Sequence[Child], *, grace_s: float = 10.0) -> None:
        self.children = list(children)
        self.grace_s = grace_s
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def _spawn(self, child: Child) -> None:
        env = {**os.environ, **child.env}
        child.proc = await asyncio.create_subprocess_exec(
            *child.argv, env=env, start_new_session=True
        )
        log.info("supervisor.started", child=child.name, pid=child.proc.pid)

    async def _watch(self, child: Child) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            started = time.monotonic()
            await self._spawn(child)
            assert child.proc is not None
            code = await child.proc.wait()
            if self._stopping.is_set():
                return
            child.restarts += 1
            backoff = 0.5 if time.monotonic() - started > 30 else min(backoff * 2, 15.0)
            log.warning(
                "supervisor.child_exited",
                child=child.name,
                code=code,
                restarts=child.restarts,
                restart_in_s=backoff,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff)

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._watch(c)) for c in self.children]

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks)

    async def stop(self) -> None:
        """SIGTERM every child, wait up to ``grace_s``, then SIGKILL what is left."""
        self._stopping.set()
        running = [c for c in self.children if c.proc and c.proc.returncode is None]
        for c in running:
            assert c.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(c.proc.pid, signal.SIGTERM)
        for c in running:
            assert c.proc is not None
            try:
                await asyncio.wait_for(c.proc.wait(), self.grace_s)
            except TimeoutError:
                log.warning("supervisor.kill", child=c.name)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(c.proc.pid, signal.SIGKILL)
                await c.proc.wait()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        log.info("supervisor.stopped", children=len(self.children))
