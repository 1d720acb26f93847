"""The JIT flow's content for integration tests: the CCNA pack, published."""

from __future__ import annotations

from pathlib import Path

from events import Envelope
from services.bus.producer import EventPublisher
from services.content.pack import Pack, load_pack
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "packs" / "ccna"


def ccna() -> Pack:
    return load_pack(PACK)


async def publish(settings: Settings, events: list[Envelope]) -> None:
    async with EventPublisher(settings) as pub:
        await pub.publish(events)
