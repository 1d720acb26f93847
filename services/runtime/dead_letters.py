"""Dead-letter records: the original bytes plus why and where they failed.

The value is the original message value, untouched; the reason and the source
coordinates travel in ``dlq.*`` headers beside the original headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from events import TopicNames, header, utcnow
from services.bus.consumer import Delivery

__all__ = ["DeadLetter", "DeadLetterInfo", "dead_letter_for", "read_dead_letter"]

_PREFIX = "dlq."


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def dead_letter_for(
    delivery: Delivery, *, topics: TopicNames, agent: str, kind: str, reason: str
) -> DeadLetter:
    kept = [(k, v) for k, v in delivery.headers if not k.startswith(_PREFIX)]
    meta = {
        "reason": reason[:2000],
        "kind": kind,
        "agent": agent,
        "source_topic": delivery.topic,
        "source_partition": str(delivery.partition),
        "source_offset": str(delivery.offset),
        "failed_at": utcnow().isoformat(),
    }
    headers = kept + [(_PREFIX + k, v.encode()) for k, v in meta.items()]
    return DeadLetter(topics.dlq_for(delivery.topic), delivery.key, delivery.value, headers)


@dataclass(frozen=True, slots=True)
class DeadLetterInfo:
    """A dead letter as read back from a DLQ topic."""

    reason: str
    kind: str
    agent: str
    source_topic: str
    source_partition: int
    source_offset: int
    failed_at: datetime
    event_type: str | None
    original: bytes


def read_dead_letter(delivery: Delivery) -> DeadLetterInfo:
    def need(name: str) -> str:
        value = header(delivery.headers, _PREFIX + name)
        if value is None:
            raise ValueError(f"dead letter at {delivery.topic}:{delivery.offset} lacks dlq.{name}")
        return value

    return DeadLetterInfo(
        reason=need("reason"),
        kind=need("kind"),
        agent=need("agent"),
        source_topic=need("source_topic"),
        source_partition=int(need("source_partition")),
        source_offset=int(need("source_offset")),
        failed_at=datetime.fromisoformat(need("failed_at")),
        event_type=header(delivery.headers, "event_type"),
        original=delivery.value or b"",
    )
