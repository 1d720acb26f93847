"""Database roles: least privilege for the read models (GUIDE section 6).

``nls init`` runs these as the database's administrator:

- the **projector** role owns the read-model schema: it creates, alters, fills
  and rebuilds its tables and checkpoints there (``nls replay`` builds in a
  fresh schema of its own, so it may create schemas), and has no privilege on
  any other schema's tables;
- the **reader** role (the API, the console, agents that look read models up)
  may use the schema and SELECT its tables, now and later (default privileges
  for whatever the projector creates, rebuilt tables included), and nothing
  else: no writes, no DDL, no temporary tables;
- agents that call models get no role: they hold no database credentials.

Passwords come from the settings (the environment) and are sent as SCRAM
verifiers computed here, so the plain password never reaches the server's
statement log. ``PUBLIC`` loses CREATE on the ``public`` schema and TEMPORARY
on the database (the defaults of Postgres 15+, applied on older servers too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from projections.db import make_engine
from services.settings import Settings

__all__ = [
    "engine_as",
    "grant_reader",
    "ident",
    "prepare_roles",
    "saslprep",
    "scram_verifier",
]

SCRAM_ITERATIONS = 4096  # Postgres' default scram_iterations


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# RFC 4013 (SASLprep), as Postgres applies it to passwords before SCRAM hashing:
# ASCII is taken as it is; anything else is mapped and NFKC-normalised, and a
# password that comes out prohibited is used as its raw bytes instead.
_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,
)


def saslprep(password: str) -> bytes:
    """The bytes Postgres hashes for ``password``."""
    raw = password.encode()
    if password.isascii():
        return raw
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c)
    )
    normalized = unicodedata.normalize("NFKC", mapped)
    if not normalized or any(check(c) for c in normalized for check in _PROHIBITED):
        return raw
    if any(stringprep.in_table_d1(c) for c in normalized):
        # Right-to-left text must be all RandAL (no L) and begin and end with RandAL.
        if any(stringprep.in_table_d2(c) for c in normalized):
            return raw
        if not (stringprep.in_table_d1(normalized[0]) and stringprep.in_table_d1(normalized[-1])):
            return raw
    return normalized.encode()


def scram_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """The SCRAM-SHA-256 verifier Postgres stores for ``password`` (``pg_authid``)."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


async def _ensure_role(conn: AsyncConnection, role: str, password: str | None) -> None:
    exists = await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    verb = "ALTER" if exists.scalar() else "CREATE"
    options = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS"
    if password is not None:
        options += f" PASSWORD {_literal(scram_verifier(password))}"
    await conn.exec_driver_sql(f"{verb} ROLE {ident(role)} WITH {options}")


async def prepare_roles(conn: AsyncConnection, settings: Settings) -> None:
    """Create (or update) both roles and give the projector the read-model schema.

    Runs before the tables are created (as the projector): tables an earlier
    version created as the administrator are handed to the projector here, since
    only an owner may alter them.
    """
    reader, projector = settings.db_reader_role, settings.db_projector_role
    schema = ident(settings.db_schema)

    def secret(value: object) -> str | None:
        return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]

    await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('nls.roles'))")
    await _ensure_role(conn, reader, secret(settings.db_reader_password))
    await _ensure_role(conn, projector, secret(settings.db_projector_password))
    # Whatever the client asks for, the reader's transactions are read-only.
    await conn.exec_driver_sql(f"ALTER ROLE {ident(reader)} SET default_transaction_read_only = on")
    superuser = (
        await conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    ).scalar()
    if not superuser:
        # A CREATEROLE administrator acts as the projector (table owner) by membership.
        await conn.exec_driver_sql(f"GRANT {ident(projector)} TO CURRENT_USER")

    database = ident(str((await conn.exec_driver_sql("SELECT current_database()")).scalar()))
    await conn.exec_driver_sql(f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC")
    await conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    await conn.exec_driver_sql(f"REVOKE ALL ON DATABASE {database} FROM {ident(reader)}")
    await conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {database} TO {ident(reader)}")
    # CREATE: `nls replay` folds into a fresh schema of its own, then swaps it in.
    await conn.exec_driver_sql(
        f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {database} TO {ident(projector)}"
    )

    await conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    await conn.exec_driver_sql(f"ALTER SCHEMA {schema} OWNER TO {ident(projector)}")
    owned_by_others = await conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') "
            "AND pg_get_userbyid(c.relowner) <> :owner"
        ),
        {"schema": settings.db_schema, "owner": projector},
    )
    for (table,) in owned_by_others.all():
        await conn.exec_driver_sql(
            f"ALTER TABLE {schema}.{ident(table)} OWNER TO {ident(projector)}"
        )
    await grant_reader(conn, settings)


async def grant_reader(conn: AsyncConnection, settings: Settings) -> None:
    """The reader may use the schema and read every table in it, present and future."""
    reader, projector = ident(settings.db_reader_role), ident(settings.db_projector_role)
    schema = ident(settings.db_schema)
    await conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {reader}")
    await conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {reader}")
    # Not IN SCHEMA: a rebuild creates its tables in a scratch schema and moves them in.
    await conn.exec_driver_sql(
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {projector} GRANT SELECT ON TABLES TO {reader}"
    )


def engine_as(settings: Settings, role: str) -> AsyncEngine:
    """An engine of the administrator's URL whose sessions act as ``role``: what they
    create, ``role`` owns (the projector's tables, created by ``nls init``)."""
    engine = make_engine(settings)

    @event.listens_for(engine.sync_engine, "connect")
    def _act_as(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(lambda conn: conn.execute(f"SET ROLE {ident(role)}"))

    return engine
