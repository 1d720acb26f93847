"""faust-streaming wiring for generator agents and sagas.

One faust app (one consumer group, one worker process type) per agent group.
Each agent iterates its topics' raw messages and hands every one to the same
``Guard`` the batched runner uses: faust acks a message even when the agent
raises, so the guard must never let a bad message escape. Saga state lives
in a faust table (changelog-backed), and a timer publishes due deadlines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import faust
import structlog

from events import utcnow
from services.bus.consumer import Delivery, consumer_timeouts
from services.bus.producer import EventPublisher
from services.bus.security import faust_credentials
from services.runtime.family import Deps
from services.runtime.faust_transport import SafeTableManager, Transport
from services.runtime.handler import EventHandler, Guard, RetryPolicy
from services.runtime.metrics import EVENTS_CONSUMED, EVENTS_PUBLISHED
from services.runtime.saga import (
    DeadlineTicker,
    Saga,
    SagaHandler,
    Stored,
    decode_stored,
    encode_stored,
)
from services.settings import Settings

__all__ = [
    "AgentApp",
    "FaustTableStore",
    "LazyPublisher",
    "broker_options",
    "build_app",
    "run_worker",
]

log = structlog.get_logger(__name__)


class LazyPublisher:
    """Starts the aiokafka publisher on first use, inside faust's event loop."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._publisher: EventPublisher | None = None
        self._lock: asyncio.Lock | None = None

    async def _ready(self) -> EventPublisher:
        if self._publisher is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._publisher is None:
                    publisher = EventPublisher(self._settings, client_id=self._client_id)
                    await publisher.start()
                    self._publisher = publisher
        return self._publisher

    async def publish(self, events: Sequence[Any], *, context: Any = None) -> None:
        if events:
            await (await self._ready()).publish(events, context=context)

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        await (await self._ready()).send_raw(topic, key, value, headers)

    async def stop(self) -> None:
        if self._publisher is not None:
            await self._publisher.stop()
            self._publisher = None


class FaustTableStore:
    """Saga state in a faust table: key = instance id, value = ``Stored`` as JSON."""

    def __init__(self, table: Any, state_type: Any) -> None:
        self.table = table
        self.state_type = state_type

    def get(self, instance_id: str) -> Stored | None:
        raw = self.table.get(instance_id)
        return decode_stored(raw, self.state_type) if raw is not None else None

    def put(self, instance_id: str, stored: Stored) -> None:
        self.table[instance_id] = encode_stored(stored)

    def items(self) -> Iterator[tuple[str, Stored]]:
        for key, raw in list(self.table.items()):
            if raw is not None:
                yield key, decode_stored(raw, self.state_type)


class AgentApp(faust.App):  # type: ignore[misc]
    publisher: LazyPublisher
    deps: Deps | None = None  # the resources its handlers were built with

    def _new_transport(self) -> Any:
        return Transport(self.conf.broker_consumer, self)

    def _create_directories(self) -> None:
        # faust makes only the last folder; the data dir's parents may be new too.
        self.conf.datadir.mkdir(parents=True, exist_ok=True)
        super()._create_directories()

    async def on_stop(self) -> None:
        await self.publisher.stop()
        if self.deps is not None:
            await self.deps.aclose()
        await super().on_stop()


def _headers(message: Any) -> tuple[tuple[str, bytes], ...]:
    raw = message.headers or ()
    items = raw.items() if isinstance(raw, dict) else raw
    return tuple((k, v) for k, v in items)


# faust's names for the consumer group timeouts (seconds), by aiokafka's (ms).
_FAUST_TIMEOUTS = {
    "session_timeout_ms": "broker_session_timeout",
    "rebalance_timeout_ms": "broker_rebalance_timeout",
    "heartbeat_interval_ms": "broker_heartbeat_interval",
}


def broker_options(settings: Settings) -> dict[str, Any]:
    """How a faust app reaches the brokers: every bootstrap server, the cluster's
    credentials (TLS, SASL), and the group timeouts the batched consumers use."""
    options: dict[str, Any] = {
        "broker": [f"kafka://{s.strip()}" for s in settings.bootstrap().split(",") if s.strip()],
        "broker_credentials": faust_credentials(settings),
    }
    for key, value in consumer_timeouts(settings).items():
        options[_FAUST_TIMEOUTS[key]] = value / 1000
    return options


def build_app(
    settings: Settings,
    group: str,
    *,
    handlers: Sequence[tuple[EventHandler, Sequence[str]]] = (),
    sagas: Sequence[Saga[Any]] = (),
    deps: Deps | None = None,
) -> AgentApp:
    """A faust app running ``handlers`` (each with its topics) and ``sagas``;
    ``deps`` (what the handlers were built with) are closed when it stops."""
    topics = settings.topics()
    app = AgentApp(
        f"{settings.topic_prefix}.{group}",
        # The image's /app is read-only to its user: faust keeps its folder where it may write.
        datadir=str(settings.faust_data_path() / "{conf.name}"),
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        TableManager=SafeTableManager,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        table_standby_replicas=0,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Tansu reports a partition's high watermark as the last record batch's
        # base offset + 1, so faust's table recovery would stop short of the
        # changelog's end. One record per batch keeps the two equal.
        producer_max_batch_size=1 if settings.broker_flavour == "tansu" else 16384,
        broker_commit_every=100,
        broker_commit_interval=1.0,
        **broker_options(settings),
    )
    app.conf.nls_fetch_max_wait_ms = settings.fetch_wait_ms()
    app.publisher = LazyPublisher(settings, client_id=group)
    app.deps = deps

    def add_agent(handler: EventHandler, topic_names: Sequence[str]) -> None:
        policy = RetryPolicy.from_settings(settings, handler)
        guard = Guard(handler, topics=topics, policy=policy)
        channel = app.topic(*topic_names, value_type=bytes, key_type=bytes)

        async def agent(stream: Any) -> None:
            async for ev in stream.events():
                m = ev.message
                delivery = Delivery(m.topic, m.partition, m.offset, m.key, m.value, _headers(m))
                outcome = await guard.run(delivery, app.publisher.publish)
                if outcome.outputs:
                    await app.publisher.publish(outcome.outputs)
                    EVENTS_PUBLISHED.labels(handler.name).inc(len(outcome.outputs))
                if outcome.dead is not None:
                    d = outcome.dead
                    await app.publisher.send_raw(d.topic, d.key, d.value, d.headers)
                EVENTS_CONSUMED.labels(handler.name, m.topic).inc()

        # Handlers whose pace is set by model calls take several messages at once.
        concurrency = getattr(handler, "concurrency", 1)
        app.agent(channel, name=handler.name, concurrency=concurrency)(agent)

    for handler, topic_names in handlers:
        add_agent(handler, topic_names)

    for saga in sagas:
        table = app.Table(
            f"saga-{saga.name}",
            default=None,
            schema=faust.Schema(key_serializer="json", value_serializer="json"),
            partitions=settings.topic_partitions,
        )
        saga_handler = SagaHandler(saga, FaustTableStore(table, saga.state_type), app.publisher)
        add_agent(saga_handler, [topics.domain(saga.context)])

        app.timer(settings.saga_tick_s, name=f"{saga.name}-deadlines")(
            _deadline_timer(app, saga_handler)
        )
    return app


def _deadline_timer(app: AgentApp, handler: SagaHandler) -> Callable[[], Awaitable[None]]:
    ticker = DeadlineTicker(handler, app.publisher)

    async def tick() -> None:
        await ticker.tick(utcnow())

    return tick


class QuietWorker(faust.Worker):  # type: ignore[misc]
    """A worker process without faust's terminal spinner.

    To spin on every log record, the spinner sets the root logger to DEBUG, so
    aiokafka, httpx and the SDKs built a debug record for every fetch and every
    request: about 8 % of the jit worker's CPU samples.
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None


def run_worker(app: faust.App, loglevel: str = "warn") -> None:
    """Run ``app`` as a worker in this process until SIGTERM/SIGINT (blocks)."""
    worker = QuietWorker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
