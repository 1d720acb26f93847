"""``nls init`` (the deployment's one-shot set-up) and ``nls events register``.

``nls init`` makes a broker and a database ready for the platform, then exits:
every domain and dead-letter topic; the database roles (``projections.roles``);
every read model's tables, created as the projector so that it owns them; and,
when a schema registry is configured, every event type's JSON Schema. Each step
is idempotent: running it again changes nothing but the roles' passwords. The
compose deployment runs it as the ``init`` service the others wait for.

Mounted by ``tools/cli/main.py`` with ``init.register(app)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import httpx
import typer
from rich.table import Table

from services.bus.schema_registry import Registration
from services.runtime.cli import console, fail, run
from services.settings import Settings, get_settings

__all__ = ["InitReport", "events_register", "init", "initialise", "register", "register_schemas"]


@dataclass
class InitReport:
    topics_created: list[str] = field(default_factory=list)
    read_models: list[str] = field(default_factory=list)
    roles: tuple[str, str] | None = None
    schemas: list[Registration] | None = None


async def register_schemas(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> list[Registration]:
    """Every event type's JSON Schema under its subject in the configured registry."""
    from events import CATALOG
    from services.bus.schema_registry import SchemaRegistry, register_catalog

    async with SchemaRegistry.from_settings(settings, transport) as registry:
        return await register_catalog(registry, CATALOG, settings.topic_prefix)


async def initialise(
    settings: Settings,
    *,
    roles: bool = True,
    broker_timeout_s: float = 60.0,
    registry_transport: httpx.AsyncBaseTransport | None = None,
) -> InitReport:
    """Topics, roles, read-model tables and schemas, as ``nls init`` makes them."""
    from projections.db import make_engine
    from projections.roles import engine_as, grant_reader, prepare_roles
    from projections.runner import setup_tables
    from services.bootstrap import bootstrap
    from services.bus.admin import ensure_topics, wait_for_broker

    report = InitReport()
    await wait_for_broker(settings.bootstrap(), broker_timeout_s, settings=settings)
    report.topics_created = await ensure_topics(settings)

    projections = list(bootstrap(settings).projections.values())
    admin = make_engine(settings)
    try:
        if roles:
            async with admin.begin() as conn:
                await prepare_roles(conn, settings)
            report.roles = (settings.db_reader_role, settings.db_projector_role)
        owner = engine_as(settings, settings.db_projector_role) if roles else admin
        try:
            await setup_tables(owner, *projections)
            report.read_models.extend(p.name for p in projections)
        finally:
            if owner is not admin:
                await owner.dispose()
        if roles:
            async with admin.begin() as conn:
                await grant_reader(conn, settings)
    finally:
        await admin.dispose()

    if settings.schema_registry_url:
        report.schemas = await register_schemas(settings, registry_transport)
    return report


def init(
    no_roles: Annotated[
        bool,
        typer.Option(
            "--no-roles",
            help="skip the database roles (a database whose administrator cannot create roles)",
        ),
    ] = False,
    broker_timeout: Annotated[
        float, typer.Option(min=1, help="seconds to wait for the broker to answer")
    ] = 60.0,
) -> None:
    """Create topics, database roles, every read model's tables and (with
    NLS_SCHEMA_REGISTRY_URL) the event schemas, then exit. Safe to run again."""
    settings = get_settings()
    report = run(initialise(settings, roles=not no_roles, broker_timeout_s=broker_timeout))
    table = Table(title="nls init", show_header=False)
    created = ", ".join(report.topics_created) or "none (all existed)"
    table.add_row("topics created", created)
    table.add_row("read models", ", ".join(report.read_models))
    if report.roles:
        reader, projector = report.roles
        table.add_row(
            "database roles",
            f"{reader} (reads {settings.db_schema}), {projector} (owns {settings.db_schema})",
        )
    else:
        table.add_row("database roles", "skipped (--no-roles)")
    if report.schemas is None:
        table.add_row("schemas", "no registry (NLS_SCHEMA_REGISTRY_URL unset)")
    else:
        new = sum(r.status == "registered" for r in report.schemas)
        table.add_row("schemas", f"{len(report.schemas)} event types, {new} newly registered")
    console.print(table)


def events_register() -> None:
    """Register every event type's JSON Schema in the schema registry
    (NLS_SCHEMA_REGISTRY_URL), one subject per type: <prefix>.<event-type>."""
    settings = get_settings()
    if not settings.schema_registry_url:
        raise fail("set NLS_SCHEMA_REGISTRY_URL (Redpanda's registry: http://<broker>:8081)")
    done = run(register_schemas(settings))
    table = Table("subject", "event version", "schema id", "status")
    for r in done:
        table.add_row(r.subject, str(r.event_version), str(r.schema_id), r.status)
    console.print(table)
    new = sum(r.status == "registered" for r in done)
    console.print(
        f"{len(done)} event types in {settings.schema_registry_url}, {new} registered now"
    )


def register(app: typer.Typer) -> None:
    from tools.cli.ops import events_app

    app.command("init")(init)
    events_app.command("register")(events_register)
