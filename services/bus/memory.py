"""The in-memory fake of ``Publisher``, asserted on by state in tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from events import Context, Envelope

__all__ = ["InMemoryPublisher"]


@dataclass
class InMemoryPublisher:
    events: list[tuple[Context | None, Envelope]] = field(default_factory=list)
    raw: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = field(
        default_factory=list
    )
    fail_next: int = 0  # how many publish calls raise ConnectionError first

    async def publish(self, events: Sequence[Envelope], *, context: Context | None = None) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable (fake)")
        for e in events:
            self.events.append((e.payload.event_context or context, e))

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        self.raw.append((topic, key, value, headers))

    def of_type(self, event_type: str) -> list[Envelope]:
        return [e for _, e in self.events if e.event_type == event_type]
