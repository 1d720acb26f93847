"""Database engines: one per role, every table under the configured schema."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.errors import ConfigurationError
from services.settings import Settings

__all__ = [
    "METADATA",
    "asyncpg_url",
    "conn_schema",
    "create_schema",
    "driver",
    "in_schema",
    "make_engine",
    "plain_url",
    "qualified",
    "schema_of",
]

# Every read-model table is declared without a schema; the engine maps it to
# ``Settings.db_schema`` (or a rebuild schema) with ``schema_translate_map``.
METADATA = MetaData()


def asyncpg_url(url: str) -> str:
    """Any postgres URL as a SQLAlchemy asyncpg URL."""
    u = make_url(url)
    return u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def plain_url(url: str) -> str:
    """Any postgres URL as a libpq URL (for asyncpg.connect and psql)."""
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(
    settings: Settings, *, read_only: bool = False, pool_size: int | None = None, **kwargs: Any
) -> AsyncEngine:
    if not settings.database_url:
        raise ConfigurationError("no database configured: set DATABASE_URL or start `nls dev up`")
    server_settings = {"application_name": "nls"}
    if read_only:
        # Readers cannot write whatever their role allows.
        server_settings["default_transaction_read_only"] = "on"
    return create_async_engine(
        asyncpg_url(settings.database_url),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=pool_size or settings.db_pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": server_settings},
        execution_options={"schema_translate_map": {None: settings.db_schema}},
        **kwargs,
    )


def in_schema(engine: AsyncEngine, schema: str) -> AsyncEngine:
    """The same pool, with the tables mapped to another schema (rebuilds)."""
    return engine.execution_options(schema_translate_map={None: schema})


def schema_of(engine: AsyncEngine) -> str:
    opts = engine.get_execution_options()
    mapping: dict[str | None, str] = opts.get("schema_translate_map") or {}
    return mapping.get(None) or "public"


def conn_schema(conn: AsyncConnection) -> str:
    """The schema a connection's tables map to."""
    mapping = conn.sync_connection.get_execution_options().get("schema_translate_map") or {}  # type: ignore[union-attr]
    return mapping.get(None) or "public"


def qualified(conn: AsyncConnection, table: Any) -> str:
    """``table``'s name in raw SQL on ``conn``: in the schema the connection maps to."""
    return f'"{conn_schema(conn)}".{table.name}'


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, inside the same transaction.

    Projectors use it for set-based writes (``unnest`` of column arrays), which
    are several times faster than executemany through the ORM layer.
    """
    raw = await conn.get_raw_connection()
    pg: Any = raw.driver_connection
    if conn.in_transaction() and not pg.is_in_transaction():
        # SQLAlchemy sends BEGIN with its first statement: none was sent yet.
        await conn.execute(text("SELECT 1"))
    return pg


async def create_schema(conn: AsyncConnection, schema: str, tables: list[Any]) -> None:
    """Create the schema and the given tables in it, if missing.

    Serialised by an advisory lock: concurrent ``IF NOT EXISTS`` DDL races in Postgres.
    """
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('nls.ddl'))"))
    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    # The tables go to ``schema``, whatever schema the connection maps to otherwise.
    conn = await conn.execution_options(schema_translate_map={None: schema})
    await conn.run_sync(lambda sync: METADATA.create_all(sync, tables=tables, checkfirst=True))
