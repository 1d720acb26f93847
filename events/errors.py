"""Errors raised while decoding or validating events.

Every error carries the context needed to put the message in a dead-letter
record: a short machine ``kind`` and a human ``reason``. A reason that quotes
input has its NUL and surrogates escaped, so the record can itself be stored.
"""

from __future__ import annotations

from events.text import storable

__all__ = [
    "EventError",
    "InvalidEvent",
    "UndecodableEvent",
    "UnknownEventType",
    "UpcastError",
]


class EventError(Exception):
    """Base class: the message cannot become a valid domain event."""

    kind = "invalid_event"

    def __init__(self, reason: str, *, event_type: str | None = None) -> None:
        reason = storable(reason)
        super().__init__(reason)
        self.reason = reason
        self.event_type = event_type


class UndecodableEvent(EventError):
    """The bytes are not a JSON object."""

    kind = "undecodable"


class UnknownEventType(EventError):
    """The event_type (or its version) is not in the catalog."""

    kind = "unknown_event_type"


class InvalidEvent(EventError):
    """The envelope or payload fails validation.

    ``errors`` holds pydantic-style error dicts with a ``loc`` naming the field.
    """

    kind = "invalid_payload"

    def __init__(
        self,
        reason: str,
        *,
        event_type: str | None = None,
        errors: list[dict[str, object]] | None = None,
    ) -> None:
        super().__init__(reason, event_type=event_type)
        self.errors = errors or []


class UpcastError(EventError):
    """An upcaster failed to turn an old payload into the current version."""

    kind = "upcast_failed"
