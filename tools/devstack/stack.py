"""The embedded dev stack behind ``nls dev up`` and ``nls demo``.

Starts what is not configured (the Tansu broker; Postgres per GUIDE section 7),
writes the addresses to ``<state_dir>/stack.env`` for other ``nls`` commands,
creates topics and read-model tables, then runs every agent, projector and the
API as supervised child processes.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from pydantic import SecretStr

from projections.db import make_engine
from projections.log_check import reconcile
from projections.runner import setup_tables
from services.bootstrap import bootstrap
from services.bus.admin import ensure_topics, wait_for_broker
from services.errors import ConfigurationError
from services.settings import STACK_ENV, Settings
from tools.devstack.broker import EmbeddedBroker, free_port, port_open
from tools.devstack.compose import worker_commands
from tools.devstack.postgres import PostgresHandle, create_database, find_postgres
from tools.devstack.supervisor import Child, Supervisor

__all__ = ["DevStack", "StackInfo"]

log = structlog.get_logger(__name__)


@dataclass
class StackInfo:
    bootstrap: str
    database_url: str
    api_url: str
    api_token: str
    broker_origin: str
    postgres_origin: str
    agents: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


class DevStack:
    """Every agent of the registry as a supervised process (or ``workers``, a subset)."""

    def __init__(self, settings: Settings, *, workers: tuple[str, ...] | None = None) -> None:
        self.settings = settings
        self.workers = workers
        self.state_dir = Path(settings.state_dir)
        self.broker: EmbeddedBroker | None = None
        self.postgres: PostgresHandle | None = None
        self.supervisor: Supervisor | None = None
        self.info: StackInfo | None = None
        self._metrics_dir: tempfile.TemporaryDirectory[str] | None = None

    async def start(self) -> StackInfo:
        s = self.settings
        self.state_dir.mkdir(parents=True, exist_ok=True)
        flavour = s.broker_flavour
        if s.kafka_bootstrap_servers:
            servers, broker_origin = s.kafka_bootstrap_servers, "configured"
        else:
            port = 9092 if not port_open("127.0.0.1", 9092) else free_port()
            self.broker = EmbeddedBroker(port, log_path=self.state_dir / "broker.log").start()
            servers, broker_origin, flavour = (
                self.broker.bootstrap,
                "embedded (Tansu, in memory)",
                "tansu",
            )
        await wait_for_broker(servers)
        self.postgres = await asyncio.to_thread(
            find_postgres, s.database_url, self.state_dir / "pgdata"
        )
        database_url = s.database_url or await create_database(self.postgres, "nls")
        if port_open(s.api_host, s.api_port):
            raise ConfigurationError(f"port {s.api_port} is taken: set NLS_API_PORT to a free port")
        token = s.api_token.get_secret_value() if s.api_token else secrets.token_urlsafe(24)
        self._metrics_dir = tempfile.TemporaryDirectory(prefix="nls-metrics-")
        effective = s.model_copy(
            update={
                "kafka_bootstrap_servers": servers,
                "database_url": database_url,
                "broker_flavour": flavour,
                "api_token": SecretStr(token),
            }
        )
        env = effective.child_env()
        (self.state_dir / STACK_ENV).write_text(
            "".join(
                f"{k}={env[k]}\n"
                for k in (
                    "KAFKA_BOOTSTRAP_SERVERS",
                    "DATABASE_URL",
                    "NLS_API_TOKEN",
                    "NLS_BROKER_FLAVOUR",
                    "NLS_TOPIC_PREFIX",
                    "NLS_DB_SCHEMA",
                    "NLS_API_HOST",
                    "NLS_API_PORT",
                )
            )
        )
        await ensure_topics(effective)
        platform = bootstrap(effective)
        engine = make_engine(effective)
        try:
            await setup_tables(engine, *platform.projections.values())
            for projection in platform.projections.values():
                # Read models of another log (an earlier stack's) start over now, before
                # anyone reads them: they will equal this stack's log.
                await reconcile(engine, projection, effective)
        finally:
            await engine.dispose()
        child_env = env | {"PROMETHEUS_MULTIPROC_DIR": self._metrics_dir.name}
        cli = [sys.executable, "-m", "tools.cli"]
        # Every worker as a deployment runs it, or just the agents asked for.
        runs = {w: [w] for w in self.workers or ()} or {
            name: args for name, (_, args) in worker_commands(platform).items()
        }
        agents = list(runs)
        children = [Child(w, [*cli, "agent", "run", *args], child_env) for w, args in runs.items()]
        children.append(Child("api", [*cli, "api"], child_env))
        self.supervisor = Supervisor(children)
        await self.supervisor.start()
        self.info = StackInfo(
            bootstrap=servers,
            database_url=database_url,
            api_url=f"http://{s.api_host}:{s.api_port}",
            api_token=token,
            broker_origin=broker_origin,
            postgres_origin=self.postgres.origin,
            agents=agents,
            env=env,
        )
        return self.info

    async def wait_api(self, timeout_s: float = 60.0) -> None:
        import httpx

        assert self.info is not None
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    r = await client.get(f"{self.info.api_url}/healthz", timeout=2)
                    if r.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("the API did not become healthy")
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        if self.supervisor:
            await self.supervisor.stop()
        if self.broker:
            self.broker.stop()
        if self.postgres:
            await asyncio.to_thread(self.postgres.stop)
        env_file = self.state_dir / STACK_ENV
        if env_file.exists():
            os.unlink(env_file)
        if self._metrics_dir:
            self._metrics_dir.cleanup()
