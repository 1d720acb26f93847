"""What every part of the demo works with: the running stack, its API, its read models."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from events import Envelope
from projections.db import schema_of
from services.bus.producer import EventPublisher
from services.settings import Settings

__all__ = ["PACKS", "Demo"]

PACKS = Path(__file__).resolve().parents[2] / "packs"


@dataclass
class Demo:
    console: Console
    settings: Settings  # the running stack's
    http: httpx.AsyncClient  # the API, with the token
    engine: AsyncEngine  # read-only
    publisher: EventPublisher

    async def publish(self, events: Sequence[Envelope]) -> None:
        for i in range(0, len(events), 500):
            await self.publisher.publish(events[i : i + 500])

    async def send_raw(self, topic: str, value: bytes) -> None:
        await self.publisher.send_raw(topic, b"demo", value, [])

    async def rows(self, *tables: str) -> tuple[int, ...]:
        """Rows of each table (0 while it does not exist yet)."""
        counts = []
        async with self.engine.connect() as conn:
            for table in tables:
                sql = f'SELECT count(*) FROM "{schema_of(self.engine)}"."{table}"'
                try:
                    counts.append(int((await conn.execute(text(sql))).scalar_one()))
                except Exception:  # not created yet
                    await conn.rollback()
                    counts.append(0)
        return tuple(counts)

    async def until(
        self, done: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 180
    ) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = await done()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"the demo waited {timeout_s:.0f}s for {what}")
            await asyncio.sleep(0.25)
