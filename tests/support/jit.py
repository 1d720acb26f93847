"""Running the JIT flow's agents in-process for integration tests.

The JIT generator's handler runs here on the batched consumer (the same handler
contract faust runs in production; the e2e test runs the faust worker itself).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from events import Context, Envelope
from projections.db import make_engine
from services.bus.producer import EventPublisher
from services.content.pack import Pack, load_pack
from services.generation import Gateway
from services.remediation.agents import JitGenerator
from services.remediation.service import JITGenerationService
from services.remediation.store import PostgresContentStore
from services.runtime.batch_runner import BatchRunner
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "packs" / "ccna"


def ccna() -> Pack:
    return load_pack(PACK)


async def publish(settings: Settings, events: list[Envelope]) -> None:
    async with EventPublisher(settings) as pub:
        await pub.publish(events)


async def run_jit(
    settings: Settings, stop: asyncio.Event, gateway: Gateway | None = None, strategy: str = "auto"
) -> None:
    engine = make_engine(settings, read_only=True)
    try:
        async with EventPublisher(settings, client_id="jit") as publisher:
            service = JITGenerationService(
                PostgresContentStore(engine), gateway or Gateway(), strategy=strategy
            )
            runner = BatchRunner(
                JitGenerator(service),
                settings=settings,
                publisher=publisher,
                topics=[settings.topics().domain(Context.CONTENT)],
                group_id=f"{settings.topic_prefix}.jit",
            )
            await runner.run(stop)
    finally:
        await engine.dispose()
