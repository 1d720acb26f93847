"""The event envelope (GUIDE section 3) and the base class of every payload."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, TypeVar

from pydantic import AwareDatetime, ConfigDict, Field, SerializeAsAny

from events.text import TextChecked
from events.topics import Context

__all__ = ["Envelope", "Payload", "derive_id", "utcnow"]

# Namespace for deterministic ids of derived events (uuid5 of causation id + role).
_DERIVED_NS = uuid.UUID("6b1f2a8e-4d0c-5e7a-9b3f-2c1d0e9f8a7b")


def utcnow() -> datetime:
    return datetime.now(UTC)


def derive_id(causation_id: uuid.UUID, role: str) -> uuid.UUID:
    """Deterministic id of an event derived from another.

    A redelivered input re-emits the same ids, so consumers dedupe them.
    """
    return uuid.uuid5(_DERIVED_NS, f"{causation_id}:{role}")


class Payload(TextChecked):
    """Base of every event payload. The catalog fills the class variables.

    Every text field refuses NUL and unpaired surrogates (``events.text``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    event_version: ClassVar[int]
    event_context: ClassVar[Context | None]
    key_field: ClassVar[str]

    def aggregate_key(self) -> str:
        return str(getattr(self, self.key_field))


_P = TypeVar("_P", bound=Payload)


class Envelope(TextChecked):
    """Metadata shared by every event; ``key`` is the aggregate id and Kafka key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    event_type: str = Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
    event_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    key: str = Field(min_length=1, max_length=200)
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    source: str = Field(min_length=1, max_length=100)
    payload: SerializeAsAny[Payload]

    @classmethod
    def new(
        cls,
        payload: Payload,
        *,
        source: str,
        correlation_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """An original event: a fresh id, and its own workflow unless one is given."""
        eid = event_id or uuid.uuid4()
        return cls(
            event_id=eid,
            event_type=payload.event_type,
            event_version=payload.event_version,
            occurred_at=occurred_at or utcnow(),
            key=payload.aggregate_key(),
            correlation_id=correlation_id or eid,
            causation_id=None,
            source=source,
            payload=payload,
        )

    def derive(
        self, payload: Payload, *, role: str, source: str, occurred_at: datetime | None = None
    ) -> Envelope:
        """An event caused by this one, with a deterministic id (see ``derive_id``)."""
        return Envelope(
            event_id=derive_id(self.event_id, role),
            event_type=payload.event_type,
            event_version=payload.event_version,
            occurred_at=occurred_at or utcnow(),
            key=payload.aggregate_key(),
            correlation_id=self.correlation_id,
            causation_id=self.event_id,
            source=source,
            payload=payload,
        )

    def __eq__(self, other: object) -> bool:
        # Decoding hands out the per-type envelope subclass; equal fields are equal events.
        if not isinstance(other, Envelope):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def payload_as(self, kind: type[_P]) -> _P:
        if not isinstance(self.payload, kind):
            raise TypeError(f"{self.event_type} payload is not {kind.__name__}")
        return self.payload
