"""Shared pieces of the HTTP API: its state, a read-only connection, bounded parameters.

Every path and query parameter is bounded here, once: a value the database
could not take (an integer past 64 bits, a NUL, a Unix time posing as a date)
is a 422 naming the parameter, never a 500 from Postgres.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka import AIOKafkaConsumer
from fastapi import Depends, Path, Query, Request
from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.api.errors import ApiError, outage_of
from services.bus.producer import Publisher
from services.settings import Settings

__all__ = [
    "AGENT_PATTERN",
    "ID_PATTERN",
    "KIND_PATTERN",
    "MAX_OFFSET",
    "Conn",
    "FamilyQuery",
    "IdQuery",
    "Limit",
    "Offset",
    "PathId",
    "Pub",
    "Since",
    "State",
    "connection",
    "database",
    "identifier",
    "publisher",
]

# The catalog's identifiers (learner, session, question ids): 1-128 characters,
# surrounding whitespace stripped. Control characters never name anything, and
# NUL cannot reach Postgres.
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
ID_MAX = 128
AGENT_PATTERN = r"^[a-z][a-z0-9._-]*$"
KIND_PATTERN = r"^[a-z][a-z0-9_]*$"
FAMILY_PATTERN = r"^[a-z][a-z0-9_-]*$"
MAX_OFFSET = 1_000_000
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?$"
)


class State:
    settings: Settings
    publisher: Publisher
    engine: AsyncEngine
    reader: AIOKafkaConsumer
    reader_lock: asyncio.Lock


@asynccontextmanager
async def database(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection from ``engine``; failing to connect is a 503 naming the database."""
    conn = engine.connect()
    try:
        await conn.start()
    except Exception as exc:
        if outage_of(exc) is None:
            raise
        raise ApiError(503, "unavailable", f"database unavailable: {type(exc).__name__}") from exc
    try:
        yield conn
    finally:
        await conn.close()


async def connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A read-only connection; a read model whose tables are missing answers 503."""
    state: State = request.app.state.nls
    async with database(state.engine) as conn:
        try:
            yield conn
        except ProgrammingError as exc:
            if "does not exist" in str(exc):
                raise ApiError(503, "read_model_missing", "read model not built yet") from None
            raise


def identifier(value: str) -> str:
    """An id as the catalog stores it: stripped, and not blank."""
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


def _iso_only(value: Any) -> Any:
    # pydantic reads a bare number (even "0.5") as a Unix time; a client that sends
    # one meant something else, so only an ISO 8601 date-time is a date-time here.
    if isinstance(value, str) and not _ISO_DATETIME.match(value):
        raise ValueError("expected an ISO 8601 date-time with a UTC offset")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time out of range") from None


Conn = Annotated[AsyncConnection, Depends(connection)]
Limit = Annotated[int, Query(ge=1, le=500, description="rows per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
PathId = Annotated[
    str,
    Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN),
    AfterValidator(identifier),
]
IdQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN),
    AfterValidator(lambda v: None if v is None else identifier(v)),
]
FamilyQuery = Annotated[
    str | None, Query(min_length=1, max_length=50, pattern=FAMILY_PATTERN, description="family")
]
Since = Annotated[
    AwareDatetime | None,
    BeforeValidator(_iso_only),
    AfterValidator(lambda v: None if v is None else _in_utc(v)),
    Query(description="ISO 8601 date-time with offset, e.g. 2025-01-31T00:00:00Z"),
]


def publisher(request: Request) -> Publisher:
    state: State = request.app.state.nls
    return state.publisher


Pub = Annotated[Publisher, Depends(publisher)]
