"""Typed settings, read from the environment (prefix ``NLS_``) once, at the wiring point."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.topics import TopicNames

__all__ = ["STACK_ENV", "Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NLS_", extra="ignore")

    # broker ---------------------------------------------------------------
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "NLS_KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka bootstrap servers; unset means the embedded broker (nls dev up)",
    )
    broker_flavour: Literal["kafka", "tansu"] = Field(
        default="kafka", description="tansu: the embedded broker, with its quirks worked around"
    )
    topic_prefix: str = "nls"
    topic_partitions: int = Field(default=4, ge=1, le=1024)
    topic_replication: int = Field(default=1, ge=1)
    idempotent_producer: bool = Field(
        default=False, description="on for Redpanda/Kafka; the embedded Tansu broker rejects it"
    )
    producer_linger_ms: int = Field(default=2, ge=0)

    # database -------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "NLS_DATABASE_URL"),
        description="postgresql:// URL; unset means 127.0.0.1:5432 or an embedded server",
    )
    db_schema: str = Field(default="nls", pattern=r"^[a-z_][a-z0-9_]*$")
    db_pool_size: int = Field(default=5, ge=1)

    # agents ---------------------------------------------------------------
    batch_max_records: int = Field(default=2000, ge=1)
    fetch_max_wait_ms: int = Field(default=20, ge=0, le=5000)
    batch_timeout_ms: int = Field(default=50, ge=1)
    handler_concurrency: int = Field(default=4, ge=1, description="partitions processed at once")
    retry_max_attempts: int = Field(default=5, ge=1)
    retry_base_delay_s: float = Field(default=0.1, ge=0)
    retry_max_delay_s: float = Field(default=5.0, ge=0)
    # Tansu answers a JoinGroup after about half the rebalance timeout, and a
    # killed member is noticed after the session timeout: keep both short.
    consumer_session_timeout_ms: int = Field(default=6000, ge=1000)
    consumer_rebalance_timeout_ms: int = Field(default=2000, ge=500)
    consumer_heartbeat_ms: int = Field(default=500, ge=100)
    saga_tick_s: float = Field(
        default=1.0, gt=0, description="how often saga deadlines are checked"
    )

    # HTTP API -------------------------------------------------------------
    api_token: SecretStr | None = Field(default=None, description="bearer token for the HTTP API")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)

    # embedded stack -------------------------------------------------------
    state_dir: str = Field(default=".nls", description="where the dev stack keeps its files")

    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    def bootstrap(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "no broker configured: set KAFKA_BOOTSTRAP_SERVERS or start `nls dev up`"
            )
        return self.kafka_bootstrap_servers


STACK_ENV = "stack.env"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, then from the running dev stack's ``stack.env``.

    ``nls dev up`` writes the addresses of what it started there, so every
    other ``nls`` command in the same directory finds the embedded stack.
    """
    state_dir = Path(Settings().state_dir)
    env_file = state_dir / STACK_ENV
    return Settings(_env_file=env_file if env_file.exists() else None)  # type: ignore[call-arg]
