"""Consumer configuration and the delivered-message type shared by the runners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events import Envelope
from services.bus.security import client_security
from services.settings import Settings

__all__ = ["TANSU_TIMEOUTS_MS", "Delivery", "consumer_config", "consumer_timeouts"]

# Tansu answers a JoinGroup after about half the rebalance timeout, and a killed
# member is noticed after the session timeout: on the embedded broker both are short.
# A real cluster keeps the client's defaults (Kafka's), unless they are set.
TANSU_TIMEOUTS_MS = {
    "session_timeout_ms": 6000,
    "rebalance_timeout_ms": 2000,
    "heartbeat_interval_ms": 500,
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as consumed: where it came from, its bytes and, once decoded, its event."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    envelope: Envelope | None = None

    @classmethod
    def from_record(cls, record: Any) -> Delivery:
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=tuple(record.headers or ()),
        )

    @property
    def event(self) -> Envelope:
        if self.envelope is None:
            raise ValueError("delivery was not decoded")
        return self.envelope


def consumer_timeouts(settings: Settings) -> dict[str, int]:
    """The group timeouts to set: the embedded broker's tuning on Tansu, then whatever
    was set explicitly; on a real cluster nothing unless set (the client's defaults)."""
    timeouts = dict(TANSU_TIMEOUTS_MS) if settings.broker_flavour == "tansu" else {}
    explicit = {
        "session_timeout_ms": settings.consumer_session_timeout_ms,
        "rebalance_timeout_ms": settings.consumer_rebalance_timeout_ms,
        "heartbeat_interval_ms": settings.consumer_heartbeat_ms,
    }
    timeouts.update({k: v for k, v in explicit.items() if v is not None})
    return timeouts


def consumer_config(settings: Settings, group_id: str | None, **overrides: Any) -> dict[str, Any]:
    """Consumer settings shared by every batched consumer: manual commits, earliest start."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap(),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        # On the embedded broker an idle fetch answers only after this long: the
        # latency floor of every hop (Settings.fetch_max_wait_ms).
        "fetch_max_wait_ms": settings.fetch_wait_ms(),
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
        "fetch_max_bytes": 32 * 1024 * 1024,
        "max_poll_interval_ms": 300_000,
        "isolation_level": "read_uncommitted",
        **consumer_timeouts(settings),
        **client_security(settings),
    }
    config.update(overrides)
    return config
