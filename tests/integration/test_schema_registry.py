"""`nls events register` and `nls init` against a fake Confluent-compatible schema registry.

The fake is a small starlette app speaking the part of the REST API the client
uses (Redpanda's registry speaks the same): it checks every request's shape
(method, path, content type, body), keeps subjects, versions, ids and per-subject
compatibility as a registry does, and answers errors in the registry's format.
It runs in-process (httpx's ASGI transport), and on a local port for the CLI.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events import CATALOG
from events.docs import schema_for
from projections.roles import ident
from services.bus.schema_registry import (
    CONTENT_TYPE,
    SchemaRegistry,
    SchemaRegistryError,
    SchemaRegistryUnavailable,
    register_catalog,
    subject_for,
)
from services.settings import Settings
from tests.conftest import ROOT, make_settings
from tests.support.cli import invoke, said
from tests.support.helpers import wait_until
from tools.cli import init as init_cli
from tools.cli.init import initialise, register_schemas
from tools.cli.main import app as cli_app
from tools.devstack.broker import free_port
from tools.devstack.provision import BrokerInfo, DatabaseInfo

pytestmark = pytest.mark.integration


@dataclass
class FakeRegistry:
    """Subjects -> versions of schema texts; ids are global per distinct schema text."""

    auth: tuple[str, str] | None = None
    fail_with: int | None = None
    subjects: dict[str, list[str]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    compatibility: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/subjects", self.list_subjects, methods=["GET"]),
                Route("/subjects/{subject}", self.lookup, methods=["POST"]),
                Route("/subjects/{subject}/versions", self.register, methods=["POST"]),
                Route("/config/{subject}", self.set_config, methods=["PUT"]),
            ]
        )

    @staticmethod
    def error(status: int, code: int, message: str) -> JSONResponse:
        return JSONResponse({"error_code": code, "message": message}, status_code=status)

    async def check(self, request: Request, *, body: bool) -> Response | dict[str, Any] | None:
        self.requests.append((request.method, request.url.path))
        if self.fail_with:
            return self.error(self.fail_with, 50001, "Error in the backend datastore")
        if self.auth is not None:
            wanted = "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()
            if request.headers.get("authorization") != wanted:
                return self.error(401, 40101, "Unauthorized")
        assert CONTENT_TYPE in request.headers.get("accept", "")
        if not body:
            return None
        assert request.headers["content-type"] == CONTENT_TYPE
        return dict(await request.json())

    def schema_of(self, payload: dict[str, Any]) -> str | Response:
        if set(payload) - {"schema", "schemaType"} or payload.get("schemaType") != "JSON":
            return self.error(422, 42201, f"unexpected body {sorted(payload)}")
        text = payload["schema"]
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError):
            return self.error(422, 42201, "Invalid schema: not JSON")
        if not isinstance(parsed, dict) or parsed.get("type") != "object":
            return self.error(422, 42201, "Invalid schema: an event is a JSON object")
        return str(text)

    async def lookup(self, request: Request) -> Response:
        payload = await self.check(request, body=True)
        if isinstance(payload, Response):
            return payload
        assert isinstance(payload, dict)
        text = self.schema_of(payload)
        if isinstance(text, Response):
            return text
        subject = request.path_params["subject"]
        if subject not in self.subjects:
            return self.error(404, 40401, f"Subject '{subject}' not found.")
        if text not in self.subjects[subject]:
            return self.error(404, 40403, "Schema not found")
        version = self.subjects[subject].index(text) + 1
        return JSONResponse(
            {"subject": subject, "version": version, "id": self.ids[text], "schema": text}
        )

    async def register(self, request: Request) -> Response:
        payload = await self.check(request, body=True)
        if isinstance(payload, Response):
            return payload
        assert isinstance(payload, dict)
        text = self.schema_of(payload)
        if isinstance(text, Response):
            return text
        versions = self.subjects.setdefault(request.path_params["subject"], [])
        if text not in versions:
            versions.append(text)
        schema_id = self.ids.setdefault(text, len(self.ids) + 1)
        return JSONResponse({"id": schema_id})

    async def set_config(self, request: Request) -> Response:
        payload = await self.check(request, body=True)
        if isinstance(payload, Response):
            return payload
        assert isinstance(payload, dict) and set(payload) == {"compatibility"}
        self.compatibility[request.path_params["subject"]] = payload["compatibility"]
        return JSONResponse(payload)

    async def list_subjects(self, request: Request) -> Response:
        checked = await self.check(request, body=False)
        if isinstance(checked, Response):
            return checked
        return JSONResponse(sorted(self.subjects))


def client(fake: FakeRegistry, **kwargs: Any) -> SchemaRegistry:
    return SchemaRegistry(
        "http://registry.test", transport=httpx.ASGITransport(app=fake.app()), **kwargs
    )


async def test_every_event_type_is_registered_under_its_own_subject() -> None:
    fake = FakeRegistry()
    async with client(fake) as registry:
        done = await register_catalog(registry, CATALOG, "nls")
        listed = await registry.subjects()
    specs = list(CATALOG)
    assert len(done) == len(specs) > 20
    assert listed == sorted(f"nls.{s.event_type}" for s in specs)
    for spec, reg in zip(specs, done, strict=True):
        assert reg.subject == subject_for("nls", spec.event_type)
        assert reg.status == "registered" and reg.event_version == spec.version
        [text] = fake.subjects[reg.subject]
        # What the registry holds is docs/schemas' file for the type.
        committed = ROOT / "docs" / "schemas" / f"{spec.event_type}.v{spec.version}.json"
        assert json.loads(text) == json.loads(committed.read_text()) == schema_for(spec)
        assert fake.compatibility[reg.subject] == "NONE"
    # Per subject: a lookup, then the compatibility, then the schema.
    first = fake.requests[:3]
    subject = f"nls.{specs[0].event_type}"
    assert first == [
        ("POST", f"/subjects/{subject}"),
        ("PUT", f"/config/{subject}"),
        ("POST", f"/subjects/{subject}/versions"),
    ]


async def test_registering_again_changes_nothing_and_a_new_schema_is_a_new_version() -> None:
    fake = FakeRegistry()
    async with client(fake) as registry:
        first = await register_catalog(registry, CATALOG, "nls")
        seen = len(fake.requests)
        again = await register_catalog(registry, CATALOG, "nls")
        assert {r.status for r in again} == {"unchanged"}
        assert [r.schema_id for r in again] == [r.schema_id for r in first]
        assert {m for m, _ in fake.requests[seen:]} == {"POST"}  # lookups only
        assert all(len(v) == 1 for v in fake.subjects.values())
        # A subject holding an older schema gets this one as its next version.
        spec = next(iter(CATALOG))
        subject = subject_for("other", spec.event_type)
        fake.subjects[subject] = [json.dumps({"type": "object", "title": "older"})]
        [reg] = await register_catalog(registry, [spec], "other")
    assert reg.status == "registered" and len(fake.subjects[subject]) == 2


async def test_registry_errors_say_what_failed_and_whether_to_retry() -> None:
    down = FakeRegistry(fail_with=500)
    async with client(down) as registry:
        with pytest.raises(SchemaRegistryUnavailable, match=r"failed \(500\)") as exc:
            await register_catalog(registry, CATALOG, "nls")
    assert exc.value.retryable and exc.value.subject

    async with client(FakeRegistry(auth=("sr", "pw"))) as registry:
        with pytest.raises(SchemaRegistryError, match=r"refused for nls\..+ \(401\)") as refused:
            await register_catalog(registry, CATALOG, "nls")
    assert not refused.value.retryable and refused.value.status == 401

    unreachable = SchemaRegistry(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    async with unreachable:
        with pytest.raises(SchemaRegistryUnavailable, match="did not answer"):
            await unreachable.subjects()


async def test_settings_give_the_url_and_basic_auth() -> None:
    fake = FakeRegistry(auth=("sr-user", "sr-pass"))
    settings = Settings(
        schema_registry_url="http://registry.test/",
        schema_registry_username="sr-user",
        schema_registry_password=SecretStr("sr-pass"),
        topic_prefix="acme",
    )
    done = await register_schemas(settings, httpx.ASGITransport(app=fake.app()))
    assert {r.subject.split(".", 1)[0] for r in done} == {"acme"}
    with pytest.raises(SchemaRegistryError, match="NLS_SCHEMA_REGISTRY_URL"):
        SchemaRegistry.from_settings(Settings())


# --- through the CLI, against the fake on a local port -------------------------------


@pytest.fixture
def mounted() -> Iterator[None]:
    """``nls init`` and ``nls events register`` as tools/cli/main.py mounts them."""
    if not any(c.name == "init" for c in cli_app.registered_commands):
        init_cli.register(cli_app)
    yield


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeRegistry, str]]:
    fake = FakeRegistry()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: asyncio.sleep(0, server.started), bool, timeout=30)
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def test_nls_events_register(mounted: None, served: tuple[FakeRegistry, str]) -> None:
    fake, url = served
    settings = Settings(schema_registry_url=url, topic_prefix="cli")
    result = await invoke(settings, "events", "register")
    assert result.exit_code == 0, result.output
    assert len(fake.subjects) == len(list(CATALOG))
    assert f"{len(fake.subjects)} event types in {url}, {len(fake.subjects)} registered now" in (
        said(result)
    )
    again = await invoke(settings, "events", "register")
    assert again.exit_code == 0 and ", 0 registered now" in said(again)
    missing = await invoke(Settings(), "events", "register")
    assert missing.exit_code == 1 and "set NLS_SCHEMA_REGISTRY_URL" in said(missing)


async def test_nls_init_registers_the_schemas_when_a_registry_is_configured(
    mounted: None,
    served: tuple[FakeRegistry, str],
    kafka: BrokerInfo,
    postgres: DatabaseInfo,
) -> None:
    fake, url = served
    tag = uuid.uuid4().hex[:8]
    settings = make_settings(
        kafka,
        postgres,
        schema_registry_url=url,
        db_reader_role=f"rd_{tag}",
        db_projector_role=f"pj_{tag}",
    )
    try:
        result = await invoke(settings, "init")
        assert result.exit_code == 0, result.output
        text = said(result)
        assert f"{len(list(CATALOG))} event types, {len(list(CATALOG))} newly registered" in text
        assert f"rd_{tag} (reads {settings.db_schema})" in text
        assert set(fake.subjects) == {
            subject_for(settings.topic_prefix, s.event_type) for s in CATALOG
        }
        report = await initialise(settings)  # again: nothing new anywhere
        assert report.topics_created == [] and report.schemas is not None
        assert {r.status for r in report.schemas} == {"unchanged"}
    finally:
        await _drop_roles(settings)


async def _drop_roles(settings: Settings) -> None:
    import asyncpg

    from projections.db import plain_url

    assert settings.database_url
    conn = await asyncpg.connect(plain_url(settings.database_url))
    try:
        database = ident(await conn.fetchval("SELECT current_database()"))
        for role in (settings.db_reader_role, settings.db_projector_role):
            if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                await conn.execute(f"DROP OWNED BY {ident(role)} CASCADE")
                await conn.execute(f"DROP ROLE {ident(role)}")
        await conn.execute(f"GRANT TEMPORARY ON DATABASE {database} TO PUBLIC")
    finally:
        await conn.close()
