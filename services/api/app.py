"""The HTTP API: publish events, read the read models, health and metrics.

``create_app`` is the wiring point; clients are opened in the lifespan and
closed after it. Reads use a read-only database engine. Every error answers
one JSON model (``services.api.errors``), declared on every operation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy.exc import ProgrammingError

from events import CATALOG, Envelope, InvalidEvent, UndecodableEvent, UnknownEventType
from events.codec import loads
from projections.base import checkpoint_positions
from projections.db import make_engine
from projections.usage import UsageStatsView, usage_stats
from services.api.auth import BearerAuth, bearer_scheme
from services.api.console.mount import console_gate, install_console
from services.api.dead_letters import router as dead_letters_router
from services.api.deps import (
    Conn,
    FamilyQuery,
    Since,
    State,
    database,
)
from services.api.docs import router as docs_router
from services.api.errors import (
    ERROR_RESPONSES,
    ERROR_RESPONSES_JSON,
    ApiError,
    install_error_handlers,
)
from services.api.event_body import MAX_BATCH, describe_event_body, publishable
from services.api.metrics import ScrapeData, render_metrics
from services.bootstrap import bootstrap
from services.bus.admin import ensure_topics
from services.bus.consumer import consumer_config
from services.bus.offsets import log_end_offsets
from services.bus.producer import EventPublisher, Publisher
from services.settings import Settings

__all__ = ["MAX_BATCH", "create_app"]

EVENTS_PATH = "/v1/events"


class Accepted(BaseModel):
    accepted: int
    event_ids: list[str]


class Health(BaseModel):
    status: str
    broker: bool
    database: bool


def _event_errors(index: int | None, exc: InvalidEvent | UnknownEventType) -> list[dict[str, Any]]:
    prefix: list[Any] = ["body"] + ([index] if index is not None else [])
    if isinstance(exc, InvalidEvent) and exc.errors:
        return [
            {"loc": prefix + list(e["loc"]), "msg": e["msg"], "type": e["type"], "index": index}  # type: ignore[call-overload]
            for e in exc.errors
        ]
    return [{"loc": [*prefix, "event_type"], "msg": exc.reason, "type": exc.kind, "index": index}]


def _parse_events(body: bytes) -> list[Envelope]:
    """The events of a request body, validated against the catalog: all of them, or a 422
    naming each failing index and field."""
    try:
        raw = loads(body)  # a lone surrogate escape gets through, for validation to name
    except UndecodableEvent as exc:
        raise ApiError(
            422,
            "invalid_event",
            [{"loc": ["body"], "msg": exc.reason, "type": "json_invalid"}],
        ) from None
    items, batch = (raw, True) if isinstance(raw, list) else ([raw], False)
    if not items:
        raise ApiError(
            422, "invalid_event", [{"loc": ["body"], "msg": "empty batch", "type": "too_short"}]
        )
    if len(items) > MAX_BATCH:
        raise ApiError(
            422,
            "invalid_event",
            [{"loc": ["body"], "msg": f"at most {MAX_BATCH} events", "type": "too_long"}],
        )
    envelopes: list[Envelope] = []
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        index = i if batch else None
        try:
            envelope = CATALOG.validate(item, fill_defaults=True, source="api")
        except (InvalidEvent, UnknownEventType) as exc:
            errors.extend(_event_errors(index, exc))
            continue
        if not publishable(CATALOG.spec(envelope.event_type)):
            loc: list[Any] = ["body", *([] if index is None else [index]), "event_type"]
            msg = f"{envelope.event_type} is internal to the platform; it cannot be published"
            errors.append({"loc": loc, "msg": msg, "type": "internal_event_type", "index": index})
            continue
        envelopes.append(envelope)
    if errors:
        raise ApiError(422, "invalid_event", errors)
    return envelopes


def create_app(settings: Settings, **overrides: Any) -> FastAPI:
    """The API of the platform ``bootstrap(settings, **overrides)`` assembles: the core
    routes and every family's router (``publisher`` may be overridden too)."""
    platform = bootstrap(settings, **overrides)
    publisher: Publisher | None = overrides.get("publisher")
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    state = State()
    state.settings = settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings)
        own = publisher is None
        state.publisher = publisher or EventPublisher(settings, client_id="api")
        if own:
            await state.publisher.start()  # type: ignore[attr-defined]
        state.engine = make_engine(settings, read_only=True)
        state.reader = AIOKafkaConsumer(**consumer_config(settings, None))
        await state.reader.start()
        # Let the consumer's background task start: aiokafka cannot stop a consumer
        # whose task was cancelled before it first ran (a lifespan that ends at once).
        await asyncio.sleep(0)
        state.reader_lock = asyncio.Lock()
        try:
            yield
        finally:
            await state.reader.stop()
            await state.engine.dispose()
            if own:
                await state.publisher.stop()  # type: ignore[attr-defined]

    app = FastAPI(
        title="nls",
        version="0.1.0",
        description=(
            "Event-sourced AI content generation for learning apps. Every endpoint but "
            "`/healthz` needs `Authorization: Bearer <NLS_API_TOKEN>`; every error is "
            '`{"error": <code>, "detail": <text or field errors>}`.'
        ),
        lifespan=lifespan,
        docs_url=None,  # served by services.api.docs, from local assets
        redoc_url=None,
    )
    app.state.nls = state
    gate = console_gate(token) if token else None  # no token: BearerAuth refuses to start
    app.add_middleware(BearerAuth, token=token, console=gate)
    install_error_handlers(app)  # outermost: also catches what the middleware raises
    secured = APIRouter(dependencies=[Depends(bearer_scheme)], responses=ERROR_RESPONSES)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            describe_event_body(FastAPI.openapi(app), CATALOG, EVENTS_PATH)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get(
        "/healthz",
        response_model=Health,
        tags=["ops"],
        responses={503: {"model": Health, "description": "the broker or the database is down"}},
    )
    async def healthz() -> Any:
        """Open (no token): whether the broker and the database answer."""
        database = broker = False
        try:
            async with state.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            database = True
        except Exception:
            pass
        try:
            async with state.reader_lock:
                await state.reader.topics()
            broker = True
        except Exception:
            pass
        status = "ok" if database and broker else "degraded"
        return JSONResponse(
            {"status": status, "broker": broker, "database": database},
            status_code=200 if status == "ok" else 503,
        )

    @secured.post(
        EVENTS_PATH,
        status_code=202,
        response_model=Accepted,
        tags=["events"],
        summary="Publish one event or a batch",
        description=(
            "Each event is validated against the catalog (upcast if older). An invalid "
            "batch is rejected whole with 422 naming the event index and field; nothing "
            "of it is published. `event_id`, `event_version`, `occurred_at`, `key`, "
            "`correlation_id` and `source` may be omitted."
        ),
    )
    async def publish_events(request: Request) -> Any:
        envelopes = _parse_events(await request.body())
        await state.publisher.publish(envelopes)
        return Accepted(accepted=len(envelopes), event_ids=[str(e.event_id) for e in envelopes])

    @secured.get("/v1/stats/usage", response_model=list[UsageStatsView], tags=["ops"])
    async def usage(conn: Conn, family: FamilyQuery = None, since: Since = None) -> Any:
        """Generation calls, tokens, cost, latency and fallback rate by family, strategy,
        provider."""
        return await usage_stats(conn, family=family, since=since)

    async def scrape() -> ScrapeData:
        names = settings.topics()
        async with database(state.engine) as conn:
            try:
                cps = await checkpoint_positions(conn)
            except ProgrammingError:
                cps = {}
        wanted = {
            topic: [p.name for p in platform.projections.values() if topic in p.topics(names)]
            for topic in names.all_domain() + names.all_dlq()
        }
        async with state.reader_lock:
            await state.reader.topics()  # refreshes the metadata
            tps = [
                TopicPartition(t, p)
                for t in wanted
                for p in sorted(state.reader.partitions_for_topic(t) or ())
            ]
            ends = await log_end_offsets(state.reader, tps)
        lag: dict[tuple[str, str, int], int] = {}
        for tp, end in ends.items():
            for proj in wanted[tp.topic]:
                done = cps.get((proj, tp.topic, tp.partition), 0)
                lag[(proj, tp.topic, tp.partition)] = max(0, end - done)
        dlq: dict[str, int] = {}
        for tp, end in ends.items():
            if tp.topic in names.all_dlq():
                dlq[tp.topic] = dlq.get(tp.topic, 0) + end
        return ScrapeData(lag=lag, position=cps, dead_letters=dlq)

    @secured.get(
        "/metrics",
        tags=["ops"],
        response_class=PlainTextResponse,
        responses={
            **ERROR_RESPONSES_JSON,
            200: {
                "description": "Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
        },
    )
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            render_metrics(await scrape(), multiprocess=settings.metrics_dir is not None),
            media_type="text/plain; version=0.0.4",
        )

    secured.include_router(dead_letters_router)
    for router in platform.routers():
        secured.include_router(router)
    app.include_router(secured)
    app.include_router(docs_router)
    if gate is not None:
        install_console(app, platform, gate)  # /console: people sign in there (no bearer)
    return app
