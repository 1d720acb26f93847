"""How handler failures are classified: retry with backoff, or dead-letter at once."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError

from events.errors import NlsError

__all__ = ["AgentError", "PermanentError", "RetryableError", "is_retryable"]


class AgentError(NlsError):
    """Base of errors raised by handlers, carrying the event they failed on."""

    def __init__(self, message: str, *, event_id: object = None) -> None:
        super().__init__(message)
        self.event_id = event_id


class RetryableError(AgentError):
    """Transient: the same input may succeed later (timeouts, connection loss, 429/5xx)."""

    retryable = True


class PermanentError(AgentError):
    """The input can never be processed: dead-letter it and move on."""


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, NlsError):
        return exc.retryable
    if isinstance(exc, ConnectionError | TimeoutError | asyncio.TimeoutError):
        return True
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False))
    # Database disconnects surface as these; imported lazily to keep this module light.
    try:
        from asyncpg import PostgresConnectionError
        from sqlalchemy.exc import InterfaceError, OperationalError
    except ImportError:  # pragma: no cover
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return bool(getattr(exc, "connection_invalidated", False)) or isinstance(
            exc.orig, PostgresConnectionError | ConnectionError | OSError
        )
    return isinstance(exc, PostgresConnectionError | OSError)
