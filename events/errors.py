"""The root of nls's errors, and the errors raised while decoding or validating events.

Every error nls raises on purpose derives from ``NlsError`` and says whether
trying again may help (``retryable``). The CLI reports an ``NlsError`` as a
message and an exit code; anything else is a bug and shows its traceback.
Handlers' errors decide between a retry and a dead letter the same way.

    NlsError
    ├── EventError (permanent)            events/errors.py: not a valid domain event
    │   ├── UndecodableEvent, UnknownEventType, InvalidEvent, UpcastError
    ├── ConfigurationError (permanent)    services/errors.py: a missing broker, database or
    │   │                                 token, an unknown agent, read model or strategy
    │   └── UnknownName
    ├── NotFound (permanent)              services/errors.py: no such course, series, concept
    ├── StillRunning (permanent)          services/errors.py: waited, and it had not finished
    ├── AgentError                        services/runtime/errors.py
    │   ├── RetryableError (retryable)    transient: the same input may succeed later
    │   └── PermanentError                the input can never be processed
    ├── GenerationError                   services/generation/errors.py: a model call failed
    │   ├── ProviderTimeout, ProviderUnavailable (retryable)
    │   └── InvalidOutput, NoProviderConfigured, UnknownStrategy (permanent)
    ├── PackError (permanent)             services/content/pack.py: a content pack is invalid
    ├── CourseError, ArithmeticCheckError (permanent)
    │                                     services/courses/errors.py: a course request or check
    ├── MaterialError (NotFound)          services/lessons: no such pack, concept or cluster
    └── EngineError                       services/drills/engine.py: GNU Backgammon failed
        └── EngineTimeout (retryable)

Event errors carry the context needed to put the message in a dead-letter
record: a short machine ``kind`` and a human ``reason``. A reason that quotes
input has its NUL and surrogates escaped, so the record can itself be stored.
"""

from __future__ import annotations

from typing import ClassVar

from events.text import storable

__all__ = [
    "EventError",
    "InvalidEvent",
    "NlsError",
    "UndecodableEvent",
    "UnknownEventType",
    "UpcastError",
]


class NlsError(Exception):
    """Base of every error nls raises on purpose."""

    retryable: ClassVar[bool] = False


class EventError(NlsError):
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
