"""Session-wide real infrastructure; every test gets its own topic prefix and schema."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.bus.admin import ensure_topics
from services.generation.settings import GenerationSettings
from services.logging import configure_logging
from services.settings import Settings
from tools.devstack.provision import BrokerInfo, DatabaseInfo, broker, database

ROOT = Path(__file__).resolve().parent.parent
configure_logging(os.environ.get("NLS_LOG_LEVEL", "warning"))


@pytest.fixture(autouse=True)
async def close_anthropic_clients(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Close the HTTP clients of the anthropic providers a test made, after it (the
    services close theirs with their Deps); an aiohttp session left open warns."""
    from services.generation.anthropic_provider import AnthropicProvider

    made: list[AnthropicProvider] = []
    init = AnthropicProvider.__init__

    def tracked(self: AnthropicProvider, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(AnthropicProvider, "__init__", tracked)
    yield
    for provider in made:
        await provider.aclose()


@pytest.fixture(scope="session")
def kafka() -> Iterator[BrokerInfo]:
    with broker() as info:
        yield info


@pytest.fixture(scope="session")
def postgres() -> Iterator[DatabaseInfo]:
    with database() as info:
        yield info


def make_settings(kafka: BrokerInfo, postgres: DatabaseInfo, **overrides: object) -> Settings:
    tag = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "kafka_bootstrap_servers": kafka.bootstrap,
        "broker_flavour": kafka.flavour,
        "database_url": postgres.url,
        "topic_prefix": f"t{tag}",
        "db_schema": f"t{tag}",
        "retry_base_delay_s": 0.01,
        "retry_max_delay_s": 0.05,
        "saga_tick_s": 0.2,
        "api_token": SecretStr("test-token"),
        "batch_timeout_ms": 20,
        # No provider unless a test brings one (a fake server): never the network.
        "generation": GenerationSettings.model_construct(),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def settings(kafka: BrokerInfo, postgres: DatabaseInfo) -> AsyncIterator[Settings]:
    s = make_settings(kafka, postgres)
    await ensure_topics(s)
    yield s


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for an ``nls`` subprocess with these settings (same broker, DB, topics)."""
    quick = settings.model_copy(
        update={"retry_base_delay_s": 0.01, "saga_tick_s": 0.2, "log_level": "info"}
    )
    env = {
        **os.environ,
        **quick.child_env(),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


PYTHON = sys.executable


def agent_process(settings: Settings, agent: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``nls agent run <agent>`` as a child process (to kill -9), its stderr in ``log``."""
    return subprocess.Popen(
        [PYTHON, "-m", "tools.cli", "agent", "run", agent],
        env=child_env(settings, **env),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
