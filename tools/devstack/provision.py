"""A real broker and Postgres for tests and benchmarks (GUIDE section 7).

Broker: ``KAFKA_BOOTSTRAP_SERVERS`` if set; else Redpanda in testcontainers
when a Docker engine answers; else the embedded Tansu broker. Postgres:
``DATABASE_URL`` if set; else testcontainers Postgres when Docker answers;
else the server on 127.0.0.1:5432; else an embedded pgserver. Nothing skips.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from services.settings import Settings
from tools.devstack.broker import EmbeddedBroker
from tools.devstack.postgres import create_database, drop_database, find_postgres

__all__ = ["BrokerInfo", "DatabaseInfo", "broker", "database", "docker_available"]


def docker_available() -> bool:
    if shutil.which("docker") is None and not os.path.exists("/var/run/docker.sock"):
        return False
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@dataclass(frozen=True)
class BrokerInfo:
    bootstrap: str
    flavour: str  # kafka | tansu
    origin: str


@dataclass(frozen=True)
class DatabaseInfo:
    url: str
    origin: str


@contextmanager
def broker() -> Iterator[BrokerInfo]:
    configured = Settings()
    if configured.kafka_bootstrap_servers:
        yield BrokerInfo(configured.kafka_bootstrap_servers, configured.broker_flavour, "env")
        return
    if docker_available():
        from testcontainers.community.kafka import RedpandaContainer

        with RedpandaContainer() as rp:
            yield BrokerInfo(rp.get_bootstrap_server(), "kafka", "testcontainers redpanda")
        return
    embedded = EmbeddedBroker().start()
    try:
        yield BrokerInfo(embedded.bootstrap, "tansu", "embedded tansu")
    finally:
        embedded.stop()


@contextmanager
def database() -> Iterator[DatabaseInfo]:
    """A fresh database for this test session, dropped afterwards."""
    configured = Settings().database_url
    if not configured and docker_available():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            yield DatabaseInfo(pg.get_connection_url(), "testcontainers postgres")
        return
    data_dir = Path(tempfile.mkdtemp(prefix="nls-pg-"))
    handle = find_postgres(configured, data_dir)
    name = f"nls_test_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(create_database(handle, name))
    try:
        yield DatabaseInfo(url, handle.origin)
    finally:
        asyncio.run(drop_database(handle, name))
        handle.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
