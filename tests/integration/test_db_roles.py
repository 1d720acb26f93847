"""`nls init` against the real broker and Postgres: topics, tables, and least-privilege roles.

The reader may read the read models and nothing else, even with its session's
read-only default turned off; the projector folds batches and rebuilds its read
models, and cannot write or drop anything outside its schema. Roles are
cluster-wide: each test makes its own and removes them.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from aiokafka import TopicPartition
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from events import Context
from projections.db import make_engine, plain_url
from projections.learning import LearningProjection
from projections.replay import rebuild
from projections.roles import ident, scram_verifier
from projections.runner import fold_batch
from services.bootstrap import bootstrap
from services.bus.consumer import Delivery
from services.bus.memory import InMemoryPublisher
from services.bus.producer import EventPublisher
from services.settings import Settings
from tests.conftest import make_settings
from tests.support.helpers import answer_event, read_topic
from tools.cli.init import initialise
from tools.devstack.provision import BrokerInfo, DatabaseInfo

pytestmark = pytest.mark.integration

DENIED = asyncpg.exceptions.InsufficientPrivilegeError


@dataclass
class Deployed:
    settings: Settings  # the administrator's, as `nls init` runs
    reader_url: str
    projector_url: str
    other_schema: str


def url_as(settings: Settings, role: str, password: str) -> str:
    assert settings.database_url
    url = make_url(plain_url(settings.database_url)).set(username=role, password=password)
    return url.render_as_string(hide_password=False)


async def admin(settings: Settings) -> asyncpg.Connection:
    assert settings.database_url
    return await asyncpg.connect(plain_url(settings.database_url))


@pytest.fixture
async def deployed(kafka: BrokerInfo, postgres: DatabaseInfo) -> AsyncIterator[Deployed]:
    tag = uuid.uuid4().hex[:8]
    settings = make_settings(
        kafka,
        postgres,
        db_reader_role=f"rd_{tag}",
        db_reader_password=SecretStr(f"reader-{tag}"),
        db_projector_role=f"pj_{tag}",
        db_projector_password=SecretStr(f"projector-{tag}"),
    )
    other = f"other_{tag}"
    try:
        await initialise(settings)
        conn = await admin(settings)
        try:
            await conn.execute(f"CREATE SCHEMA {ident(other)}")
            await conn.execute(f"CREATE TABLE {ident(other)}.ledger (id int primary key)")
            await conn.execute(f"INSERT INTO {ident(other)}.ledger VALUES (1)")
        finally:
            await conn.close()
        yield Deployed(
            settings,
            url_as(settings, settings.db_reader_role, f"reader-{tag}"),
            url_as(settings, settings.db_projector_role, f"projector-{tag}"),
            other,
        )
    finally:
        conn = await admin(settings)
        try:
            database = ident(await conn.fetchval("SELECT current_database()"))
            await conn.execute(f"DROP SCHEMA IF EXISTS {ident(other)} CASCADE")
            for role in (settings.db_reader_role, settings.db_projector_role):
                if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                    await conn.execute(f"DROP OWNED BY {ident(role)} CASCADE")
                    await conn.execute(f"DROP ROLE {ident(role)}")
            # The session's other tests share this database: give PUBLIC its default back.
            await conn.execute(f"GRANT TEMPORARY ON DATABASE {database} TO PUBLIC")
        finally:
            await conn.close()


async def test_init_makes_topics_tables_owned_by_the_projector_and_is_idempotent(
    deployed: Deployed,
) -> None:
    s = deployed.settings
    platform = bootstrap(s)
    conn = await admin(s)
    try:
        tables = await conn.fetch(
            "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = $1", s.db_schema
        )
        assert {r["tableowner"] for r in tables} == {s.db_projector_role}
        names = {r["tablename"] for r in tables}
        for projection in platform.projections.values():
            assert {t.name for t in projection.tables} <= names, projection.name
        assert "projection_checkpoints" in names
        owner = await conn.fetchval(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", s.db_schema
        )
        assert owner == s.db_projector_role
        stored = await conn.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", s.db_reader_role
        )
    finally:
        await conn.close()
    assert stored.startswith("SCRAM-SHA-256$4096:")

    again = await initialise(s)  # nothing left to create; passwords set again
    assert again.topics_created == []
    assert set(again.read_models) == set(platform.projections)
    assert again.schemas is None  # no registry configured here
    async with EventPublisher(s) as pub:  # the topics exist: publishing needs no creation
        await pub.publish([answer_event("ada")])


async def test_the_reader_reads_the_read_models_and_nothing_else(deployed: Deployed) -> None:
    schema = ident(deployed.settings.db_schema)
    conn = await asyncpg.connect(deployed.reader_url)
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.attempts") == 0
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.projection_checkpoints") == 0
        async with conn.transaction():  # the API's dead-letter replay serialises on this
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('nls.dlq-replay'))")
        # The role's own default: every transaction is read-only.
        with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError):
            await conn.execute(f"DELETE FROM {schema}.attempts")
        # And with that default turned off, the privileges themselves refuse.
        await conn.execute("SET default_transaction_read_only = off")
        refused = [
            f"INSERT INTO {schema}.projection_checkpoints VALUES ('p', 't', 0, 1, NULL, NULL)",
            f"UPDATE {schema}.attempts SET correct = NOT correct",
            f"DELETE FROM {schema}.attempts",
            f"TRUNCATE {schema}.attempts",
            f"DROP TABLE {schema}.attempts",
            f"CREATE TABLE {schema}.mine (id int)",
            "CREATE TABLE public.mine (id int)",
            "CREATE TEMP TABLE mine (id int)",
            "CREATE SCHEMA mine",
            f"SELECT * FROM {ident(deployed.other_schema)}.ledger",
        ]
        for sql in refused:
            with pytest.raises(DENIED):
                await conn.execute(sql)
    finally:
        await conn.close()


async def test_the_projector_folds_and_rebuilds_its_schema_and_touches_no_other(
    deployed: Deployed,
) -> None:
    s = deployed.settings
    events = [answer_event(f"l{i % 4}", correct=i % 3 == 0) for i in range(40)]
    async with EventPublisher(s) as pub:
        await pub.publish(events)
    records = await read_topic(s, s.topics().domain(Context.LEARNING))
    batch: dict[TopicPartition, list[Delivery]] = {}
    for r in records:
        batch.setdefault(TopicPartition(r.topic, r.partition), []).append(Delivery.from_record(r))

    as_projector = s.model_copy(update={"database_url": deployed.projector_url})
    engine = make_engine(as_projector)
    projection = LearningProjection()
    try:
        folded = await fold_batch(
            engine, projection, batch, topics=s.topics(), send_dead=_no_dead_letters
        )
        assert folded.applied == 40
        # A rebuild folds into a fresh schema of the projector's and swaps it in.
        result = await rebuild(
            projection, settings=as_projector, engine=engine, publisher=InMemoryPublisher()
        )
        assert result.applied == 40
    finally:
        await engine.dispose()

    schema = ident(s.db_schema)
    reader = await asyncpg.connect(deployed.reader_url)
    try:  # the rebuilt tables are readable too (default privileges follow them)
        assert await reader.fetchval(f"SELECT count(*) FROM {schema}.attempts") == 40
    finally:
        await reader.close()

    other = ident(deployed.other_schema)
    conn = await asyncpg.connect(deployed.projector_url)
    try:
        for sql in (
            f"INSERT INTO {other}.ledger VALUES (2)",
            f"UPDATE {other}.ledger SET id = 3",
            f"DELETE FROM {other}.ledger",
            f"DROP TABLE {other}.ledger",
            f"DROP SCHEMA {other} CASCADE",
            f"CREATE TABLE {other}.mine (id int)",
            "CREATE TABLE public.mine (id int)",
            "DROP SCHEMA public CASCADE",
        ):
            with pytest.raises(DENIED):
                await conn.execute(sql)
    finally:
        await conn.close()
    check = await admin(s)
    try:
        assert await check.fetchval(f"SELECT count(*) FROM {other}.ledger") == 1
    finally:
        await check.close()


async def _no_dead_letters(dead: object) -> None:
    raise AssertionError(f"unexpected dead letters: {dead}")


@pytest.mark.parametrize(
    "password", ["correct horse battery", "pässwörd \u2168", "tab\there\u00e9"]
)
async def test_role_passwords_are_the_verifiers_postgres_computes(
    postgres: DatabaseInfo, password: str
) -> None:
    role = f"pw_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(plain_url(postgres.url))
    try:
        await conn.execute("SET password_encryption = 'scram-sha-256'")
        quoted = password.replace("'", "''")
        await conn.execute(f"CREATE ROLE {ident(role)} LOGIN PASSWORD '{quoted}'")
        stored = await conn.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role)
    finally:
        await conn.execute(f"DROP ROLE IF EXISTS {ident(role)}")
        await conn.close()
    iterations, salt = stored.split("$")[1].split(":")
    ours = scram_verifier(password, salt=base64.b64decode(salt), iterations=int(iterations))
    assert ours == stored
