"""Shared pieces of the HTTP API: its state, a read-only connection, paging parameters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from aiokafka import AIOKafkaConsumer
from fastapi import Depends, HTTPException, Query, Request
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.bus.producer import Publisher

__all__ = ["Conn", "Limit", "Offset", "Pub", "State", "connection", "publisher"]


class State:
    publisher: Publisher
    engine: AsyncEngine
    reader: AIOKafkaConsumer
    reader_lock: asyncio.Lock


async def connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A read-only connection; a read model whose tables are missing answers 503."""
    state: State = request.app.state.nls
    async with state.engine.connect() as conn:
        try:
            yield conn
        except ProgrammingError as exc:
            if "does not exist" in str(exc):
                raise HTTPException(503, "read model not built yet") from None
            raise


Conn = Annotated[AsyncConnection, Depends(connection)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def publisher(request: Request) -> Publisher:
    state: State = request.app.state.nls
    return state.publisher


Pub = Annotated[Publisher, Depends(publisher)]
