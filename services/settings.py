"""Typed settings, read from the environment (prefix ``NLS_``) once, at the wiring point.

One ``Settings`` holds everything: the platform's own fields, the generation
gateway's (``generation``), and each family's section (``section(cls)``): a
family declares its settings class in its own package, with the environment
names its seed uses (``USE_CANDIDATES``, ``ENABLE_BATCH_DRILL_GENERATION``),
and reads it through the one ``Settings`` it is given, so values set in code
(tests, benchmarks) reach it and ``child_env`` hands them to child processes.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import orjson
from pydantic import AliasChoices, BaseModel, Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.topics import TopicNames
from services.errors import ConfigurationError
from services.generation.settings import GenerationSettings

__all__ = [
    "CHECKOUT_PACKS",
    "SASL_PROTOCOLS",
    "SSL_PROTOCOLS",
    "STACK_ENV",
    "Latency",
    "Settings",
    "default_packs_dir",
    "env_of",
    "get_settings",
]

S = TypeVar("S", bound=BaseSettings)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
SSL_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})
_ROLE = r"^[a-z_][a-z0-9_]{0,62}$"


class Latency(StrEnum):
    """Who waits on a consumer's work, which sets how long its idle fetch waits."""

    BULK = "bulk"  # nobody: folds and agents an operator reads later
    # A learner, and it takes every answer: under load its wait sets its batch size.
    STREAM = "stream"
    INTERACTIVE = "interactive"  # a learner, on each of the few events it takes


# Where the content packs are in a checkout; an installed package has none beside it,
# so the image sets NLS_PACKS_DIR to the packs it ships.
CHECKOUT_PACKS = Path(__file__).resolve().parents[1] / "packs"


class _PacksLocation(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NLS_", extra="ignore")

    packs_dir: Path | None = None


def default_packs_dir() -> Path:
    """``NLS_PACKS_DIR``, else the checkout's ``packs/``: the default of every family's
    pack setting (each family's own variable still overrides it)."""
    return _PacksLocation().packs_dir or CHECKOUT_PACKS


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


# The answer stream's consumers keep 20 ms: at 1,000 answers/s a 5 ms wait made the
# diagnoser's batches so small that its p99 went from 38-49 to 133-154 ms
# (tools/bench/pipeline.py). Those behind it take a few events each, and 5 ms took
# 6-9 ms off the JIT bench's p95s; the others wait 250 ms, which leaves the CPU to
# both paths.
TANSU_FETCH_WAIT_MS = {Latency.BULK: 250, Latency.STREAM: 20, Latency.INTERACTIVE: 5}
KAFKA_FETCH_WAIT_MS = 500


def _fetch_wait(what: str, latency: Latency) -> Any:
    """The optional fetch wait of consumers of ``latency``, in ms."""
    return Field(
        default=None,
        ge=0,
        le=5000,
        description=f"{what}; unset: {TANSU_FETCH_WAIT_MS[latency]} ms on the embedded "
        f"broker, {KAFKA_FETCH_WAIT_MS} on Kafka",
    )


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
    topic_partitions: int = Field(
        default=4, ge=1, le=1024, description="partitions of each topic created (not changed later)"
    )
    topic_replication: int = Field(
        default=1, ge=1, description="replication factor of each topic created (3 on a cluster)"
    )
    idempotent_producer: bool = Field(
        default=False, description="on for Redpanda/Kafka; the embedded Tansu broker rejects it"
    )
    producer_linger_ms: int = Field(
        default=0,
        ge=0,
        description="0: a send leaves at once (every hop of a flow pays any linger); "
        "records still batch while a request is in flight",
    )

    # broker security (every client: producer, consumers, admin, faust) ----
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = Field(
        default="SCRAM-SHA-256", description="with SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="CA bundle (PEM) to verify the brokers; unset: the system's"
    )
    kafka_ssl_certfile: Path | None = Field(default=None, description="client certificate (mTLS)")
    kafka_ssl_keyfile: Path | None = Field(default=None, description="its private key")
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True

    # database -------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "NLS_DATABASE_URL"),
        description="postgresql:// URL; unset means 127.0.0.1:5432 or an embedded server",
    )
    db_schema: str = Field(default="nls", pattern=r"^[a-z_][a-z0-9_]*$")
    db_pool_size: int = Field(default=5, ge=1)
    # Roles `nls init` creates (projections.roles): the API and the console read as
    # the reader; the projector owns the read-model schema; agents that call models
    # get no role of their own.
    db_reader_role: str = Field(default="nls_reader", pattern=_ROLE)
    db_reader_password: SecretStr | None = Field(
        default=None, description="unset: the role has no password (peer/cert auth only)"
    )
    db_projector_role: str = Field(default="nls_projector", pattern=_ROLE)
    db_projector_password: SecretStr | None = None

    # schema registry (Confluent REST; Redpanda's at :8081) --------------------
    schema_registry_url: str | None = Field(
        default=None, description="where `nls events register` and `nls init` put the schemas"
    )
    schema_registry_username: str | None = None
    schema_registry_password: SecretStr | None = None

    # agents ---------------------------------------------------------------
    batch_max_records: int = Field(default=2000, ge=1)
    # Kafka and Redpanda answer a waiting fetch as soon as data arrives; the embedded
    # Tansu broker answers only at its next look at the log (measured: a record waits
    # up to about half the wait), so there the wait is every hop's latency floor, and
    # a shorter one costs idle requests (CPU) on both sides. Each consumer's wait
    # follows its Latency.
    fetch_max_wait_ms: int | None = _fetch_wait("an idle fetch's wait (Latency.BULK)", Latency.BULK)
    stream_fetch_max_wait_ms: int | None = _fetch_wait(
        "the same for a consumer a learner waits on that takes every answer (Latency.STREAM)",
        Latency.STREAM,
    )
    interactive_fetch_max_wait_ms: int | None = _fetch_wait(
        "the same for a consumer a learner waits on for each event it takes (Latency.INTERACTIVE)",
        Latency.INTERACTIVE,
    )
    batch_timeout_ms: int = Field(default=50, ge=1)
    handler_concurrency: int = Field(default=4, ge=1, description="partitions processed at once")
    retry_max_attempts: int = Field(default=5, ge=1)
    retry_base_delay_s: float = Field(default=0.1, ge=0)
    retry_max_delay_s: float = Field(default=5.0, ge=0)
    # Unset: the client's defaults on a real cluster, the embedded broker's tuning on
    # Tansu (services.bus.consumer.consumer_timeouts).
    consumer_session_timeout_ms: int | None = Field(default=None, ge=1000)
    consumer_rebalance_timeout_ms: int | None = Field(default=None, ge=500)
    consumer_heartbeat_ms: int | None = Field(default=None, ge=100)
    saga_tick_s: float = Field(
        default=1.0, gt=0, description="how often saga deadlines are checked"
    )

    # HTTP API -------------------------------------------------------------
    api_token: SecretStr | None = Field(default=None, description="bearer token for the HTTP API")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)

    # embedded stack -------------------------------------------------------
    state_dir: str = Field(default=".nls", description="where the dev stack keeps its files")
    faust_data_dir: Path | None = Field(
        default=None,
        description="faust workers' data directory (one folder per app); unset: <state_dir>/faust",
    )

    # logs and metrics -----------------------------------------------------------
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = Field(default=False, description="JSON lines instead of console lines")
    metrics_dir: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "NLS_METRICS_DIR"),
        description="shared by every worker's metrics (prometheus multiprocess mode)",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="a worker serves /metrics (and its heartbeat) on this port: the compose "
        "deployment's Prometheus scrapes every worker there",
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

    @model_validator(mode="after")
    def _security_is_complete(self) -> Self:
        protocol = self.kafka_security_protocol
        if protocol in SASL_PROTOCOLS and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"NLS_KAFKA_SECURITY_PROTOCOL={protocol} needs NLS_KAFKA_SASL_USERNAME "
                "and NLS_KAFKA_SASL_PASSWORD"
            )
        tls_files = [self.kafka_ssl_cafile, self.kafka_ssl_certfile, self.kafka_ssl_keyfile]
        if protocol not in SSL_PROTOCOLS and any(tls_files):
            raise ValueError(
                f"TLS files are set but NLS_KAFKA_SECURITY_PROTOCOL={protocol} does not use "
                "TLS: choose SSL or SASL_SSL"
            )
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError(
                "a client certificate needs its key: set both NLS_KAFKA_SSL_CERTFILE and "
                "NLS_KAFKA_SSL_KEYFILE, or neither"
            )
        if self.db_reader_role == self.db_projector_role:
            raise ValueError("NLS_DB_READER_ROLE and NLS_DB_PROJECTOR_ROLE must differ")
        return self

    def fetch_wait_ms(self, latency: Latency = Latency.BULK) -> int:
        """How long an idle fetch of a consumer of ``latency`` waits."""
        explicit = {
            Latency.BULK: self.fetch_max_wait_ms,
            Latency.STREAM: self.stream_fetch_max_wait_ms,
            Latency.INTERACTIVE: self.interactive_fetch_max_wait_ms,
        }[latency]
        if explicit is not None:
            return explicit
        if self.broker_flavour != "tansu":
            return KAFKA_FETCH_WAIT_MS
        return TANSU_FETCH_WAIT_MS[latency]

    def for_consumer(self, latency: Latency) -> Settings:
        """These settings, with the fetch wait of a consumer of ``latency``."""
        return self.model_copy(update={"fetch_max_wait_ms": self.fetch_wait_ms(latency)})

    def faust_data_path(self) -> Path:
        """Where faust apps keep their data (each in its own folder under it)."""
        return self.faust_data_dir or Path(self.state_dir) / "faust"

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
