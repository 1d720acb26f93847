"""Typed settings, read from the environment (prefix ``NLS_``) once, at the wiring point.

One ``Settings`` holds everything: the platform's own fields, the generation
gateway's (``generation``), and each family's section (``section(cls)``): a
family declares its settings class in its own package, with the environment
names its seed uses (``USE_CANDIDATES``, ``ENABLE_BATCH_DRILL_GENERATION``),
and reads it through the one ``Settings`` it is given, so values set in code
(tests, benchmarks) reach it and ``child_env`` hands them to child processes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
from pydantic import AliasChoices, BaseModel, Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.topics import TopicNames
from services.errors import ConfigurationError
from services.generation.settings import GenerationSettings

__all__ = ["STACK_ENV", "Settings", "env_of", "get_settings"]

S = TypeVar("S", bound=BaseSettings)


def _env_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Path):
        return str(value)
    return orjson.dumps(value, default=str).decode()


def env_of(model: BaseModel, *, only_set: bool = False) -> dict[str, str]:
    """The environment variables that make a settings class read ``model``'s values."""
    prefix = str(model.model_config.get("env_prefix", ""))
    out: dict[str, str] = {}
    for name, info in type(model).model_fields.items():
        if only_set and name not in model.model_fields_set:
            continue
        if isinstance(getattr(model, name), BaseModel):
            continue
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            env = str(alias.choices[0])
        elif isinstance(alias, str):
            env = alias
        else:
            env = f"{prefix}{name}".upper()
        value = _env_value(getattr(model, name))
        if value is not None:
            out[env] = value
    return out


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

    # logs and metrics -----------------------------------------------------------
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = Field(default=False, description="JSON lines instead of console lines")
    metrics_dir: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "NLS_METRICS_DIR"),
        description="shared by every worker's metrics (prometheus multiprocess mode)",
    )

    # the generation gateway, and the families' sections ---------------------
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    sections: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="family settings given in code, by settings class name; "
        "the environment gives the rest",
    )
    _sections: dict[type[BaseSettings], BaseSettings] = PrivateAttr(default_factory=dict)

    def section(self, cls: type[S]) -> S:
        """A family's settings: its environment, overridden by ``sections[cls.__name__]``."""
        found = self._sections.get(cls)
        if found is None:
            found = self._sections[cls] = cls(**self.sections.get(cls.__name__, {}))
        return found  # type: ignore[return-value]

    def with_section(self, cls: type[BaseSettings], **values: Any) -> Settings:
        """A copy whose section ``cls`` has ``values`` on top of what it had."""
        merged = {**self.sections, cls.__name__: {**self.sections.get(cls.__name__, {}), **values}}
        return self.model_copy(update={"sections": merged})

    def child_env(self) -> dict[str, str]:
        """The environment that gives a child process (a worker, the API) these settings.

        Children also inherit the parent's environment, which carries whatever
        came from it; this adds what was set in code.
        """
        env = env_of(self)  # sections travel as NLS_SECTIONS, JSON
        env.update(env_of(self.generation, only_set=True))
        return env

    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    def bootstrap(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise ConfigurationError(
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
