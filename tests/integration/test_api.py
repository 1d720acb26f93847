"""The HTTP API: auth, validation of single events and batches, reads, health, metrics,
one error model for every error (outages included), bounded parameters, the docs page."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from events import CATALOG, Context
from projections.db import make_engine
from projections.runner import setup_tables
from services.api.app import create_app
from services.api.event_body import publishable
from services.bootstrap import bootstrap
from services.bus.memory import InMemoryPublisher
from services.settings import Settings
from tests.support.api import api_client
from tests.support.helpers import background, count_rows, topic_size, wait_until
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, authorized=False) as c:
        yield c


def answer(learner: str = "ada", **payload: Any) -> dict[str, Any]:
    body = {
        "learner_id": learner,
        "session_id": "s1",
        "concept_id": "5f0c6a9e-52a4-4c5e-a0b4-0b8f7e0f2f11",
        "question_id": "q1",
        "correct": False,
        "response_time_ms": 5000,
        "answer_given": "255.255.255.0",
    } | payload
    return {"event_type": "answer-submitted", "payload": body}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/learners/ada/diagnoses"),
        ("POST", "/v1/events"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/v1/dead-letters"),
        ("POST", "/v1/dead-letters/replay"),
    ],
)
async def test_everything_but_healthz_and_the_docs_page_needs_the_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    missing = await client.request(method, path)
    assert missing.status_code == 401
    assert missing.json() == {"error": "unauthorized", "detail": "missing or invalid bearer token"}
    wrong = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"


async def test_healthz_is_open(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "broker": True, "database": True}


async def test_openapi_is_served_with_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json", headers=AUTH)).json()
    assert "/v1/events" in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_every_operation_declares_the_error_model(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json", headers=AUTH)).json()
    error = "#/components/schemas/ErrorBody"
    assert set(spec["components"]["schemas"]["ErrorBody"]["required"]) == {"error", "detail"}
    operations = [
        (path, method, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if path != "/healthz"  # open, parameterless: it answers 200 or its 503 health report
    ]
    assert len(operations) >= 14
    for path, method, op in operations:
        for status in ("401", "404", "422", "500", "503"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            # a family may answer a domain body beside it (a course that needs attention)
            assert schema == {"$ref": error} or {"$ref": error} in schema.get("anyOf", []), (
                method,
                path,
                status,
            )
        assert op["security"] == [{"HTTPBearer": []}], (method, path)


async def test_the_events_body_is_the_catalogs_union(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json", headers=AUTH)).json()
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    single, batch = body["schema"]["oneOf"]
    assert batch["items"] == single and batch["maxItems"] == 1000
    union = spec["components"]["schemas"]["events.Event"]
    assert set(union["discriminator"]["mapping"]) == {
        s.event_type for s in CATALOG if publishable(s)
    }
    answer_schema = spec["components"]["schemas"]["events.AnswerSubmittedEvent"]
    assert answer_schema["required"] == ["event_type", "payload"]
    payload = spec["components"]["schemas"]["events.AnswerSubmitted"]
    assert payload["properties"]["response_time_ms"]["maximum"] == 3_600_000


async def test_an_internal_event_type_cannot_be_published(client: httpx.AsyncClient) -> None:
    internal = next(s for s in CATALOG if not publishable(s))
    fields = {
        "saga": "drill-series",
        "instance_id": "i-1",
        "deadline": "batches",
        "due_at": "2025-01-01T00:00:00Z",
    }
    body = {"event_type": internal.event_type, "payload": fields}
    r = await client.post("/v1/events", json=body, headers=AUTH)
    assert r.status_code == 422 and r.json()["error"] == "invalid_event"
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "event_type"] and error["type"] == "internal_event_type"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/dead-letters?offset=2465971901949047675736293376",
        "/v1/learners/NIL/diagnoses?offset=28847001983098945536",
        "/v1/learners/NIL/attempts?limit=501",
        "/v1/stats/usage?since=0.5",
        "/v1/stats/usage?since=2025-01-01T00:00:00",
        "/v1/stats/usage?family=Robert%27);DROP",
        "/v1/learners/a%00b/remediation",
        "/v1/learners/%20%20/concepts",
        "/v1/learners/ada/remediation?question_id=" + "q" * 129,
        "/v1/dead-letters?agent=x%00",
    ],
)
async def test_out_of_bounds_parameters_are_422_naming_them(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path, headers=AUTH)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_request"
    name = path.split("?")[1].split("=")[0] if "?" in path else "learner_id"
    assert name in body["detail"][0]["loc"], body


async def test_an_iso_date_time_is_accepted_for_since(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    engine = make_engine(settings)
    try:
        await setup_tables(engine, bootstrap(settings).projection("generation_usage"))
    finally:
        await engine.dispose()
    r = await client.get("/v1/stats/usage?since=2025-01-31T00:00:00%2B01:00", headers=AUTH)
    assert r.status_code == 200 and r.json() == []


async def test_an_unknown_path_and_a_missing_row_answer_the_error_model(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/v1/nothing-here", headers=AUTH)
    assert r.status_code == 404 and r.json() == {"error": "not_found", "detail": "Not Found"}
    r = await client.get("/v1/learners/ada/diagnoses", headers=AUTH)  # no read model yet
    assert r.status_code == 503
    assert r.json() == {"error": "read_model_missing", "detail": "read model not built yet"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_database_outage_is_503_json(settings: Settings) -> None:
    down = settings.model_copy(
        update={"database_url": f"postgresql://nls@127.0.0.1:{_closed_port()}/nls"}
    )
    app = create_app(down)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            for path in ("/v1/learners/ada/diagnoses", "/v1/dead-letters", "/metrics"):
                r = await c.get(path, headers=AUTH)
                assert r.status_code == 503, (path, r.text)
                assert r.headers["content-type"] == "application/json"
                body = r.json()
                assert body["error"] == "unavailable" and "database unavailable" in body["detail"]
            health = await c.get("/healthz")
            assert health.status_code == 503 and health.json()["database"] is False


async def test_a_broker_outage_is_503_json(settings: Settings) -> None:
    app = create_app(settings, publisher=InMemoryPublisher(fail_next=1))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            r = await c.post("/v1/events", json=answer(), headers=AUTH)
            assert r.status_code == 503 and r.headers["content-type"] == "application/json"
            assert r.json()["error"] == "unavailable"
            assert (await c.post("/v1/events", json=answer(), headers=AUTH)).status_code == 202


async def test_the_docs_page_is_open_and_served_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text  # nothing from the internet
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "nls-docs.js"):
        r = await client.get(f"/docs/static/{asset}")
        assert r.status_code == 200 and len(r.content) > 500, asset
    script = (await client.get("/docs/static/nls-docs.js")).text
    assert "sessionStorage" in script and "Authorization" in script
    assert "validatorUrl: null" in script  # no call to the online validator
    assert (await client.get("/docs/static/../../openapi.json")).status_code in {401, 404}
    assert (await client.get("/docs/static/secrets.txt")).status_code == 404
    assert (await client.get("/openapi.json")).status_code == 401  # the schema still needs it


async def test_an_invalid_event_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/events", json=answer(response_time_ms=-3), headers=AUTH)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "payload", "response_time_ms"]
    r = await client.post("/v1/events", json={"event_type": "nope", "payload": {}}, headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "unknown_event_type"
    r = await client.post("/v1/events", content=b"{oops", headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"


async def test_an_invalid_batch_is_rejected_whole(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    topic = settings.topics().domain(Context.LEARNING)
    before = await topic_size(settings, [topic])
    batch = [answer("a"), answer("b"), answer("c", correct="sometimes"), answer("d")]
    r = await client.post("/v1/events", json=batch, headers=AUTH)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail == [
        {
            "loc": ["body", 2, "payload", "correct"],
            "msg": detail[0]["msg"],
            "type": "bool_parsing",
            "index": 2,
        }
    ]
    assert await topic_size(settings, [topic]) == before  # nothing of it was published


async def test_a_valid_batch_is_published_and_read_back(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    batch = [
        answer("api-learner", question_id=f"q{i}", response_time_ms=3000 + i) for i in range(5)
    ]
    r = await client.post("/v1/events", json=batch, headers=AUTH)
    assert r.status_code == 202 and r.json()["accepted"] == 5
    engine = make_engine(settings)
    try:
        async with background(
            agent(settings, "diagnoser"),
            projector(settings),
        ):
            await wait_until(lambda: count_rows(engine, "diagnoses"), lambda n: n == 5, timeout=60)
            diagnoses = (
                await client.get("/v1/learners/api-learner/diagnoses", headers=AUTH)
            ).json()
            assert len(diagnoses) == 5 and {d["fail_mode"] for d in diagnoses} <= {
                "encoding_error",
                "executive_error",
            }
            assert set(r.json()["event_ids"]) == {d["answer_event_id"] for d in diagnoses}
            attempts = (
                await client.get("/v1/learners/api-learner/attempts?limit=2", headers=AUTH)
            ).json()
            assert len(attempts) == 2
            concepts = (await client.get("/v1/learners/api-learner/concepts", headers=AUTH)).json()
            assert concepts[0]["misses"] == 5
            assert (
                await client.get("/v1/learners/api-learner/attempts?limit=0", headers=AUTH)
            ).status_code == 422
            metrics = (await client.get("/metrics", headers=AUTH)).text
            assert 'nls_projector_lag{partition="' in metrics
            assert "nls_projection_events_applied" in metrics and "nls_dlq_depth" in metrics
            assert "nls_events_consumed_total" in metrics
    finally:
        await engine.dispose()


def _browse_docs(base: str) -> tuple[str, list[str], list[str]]:
    """Open /docs in headless Chromium, give a wrong token, then the right one; return the
    error shown for the wrong one, the operations rendered, and every URL the page loaded."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(f"{base}/docs")
        token = wait.until(ec.visibility_of_element_located((By.ID, "token")))
        token.send_keys("not-the-token")
        driver.find_element(By.ID, "open-docs").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "token-error"), "refused"))
        refused = driver.find_element(By.ID, "token-error").text
        token.clear()
        token.send_keys("test-token")
        driver.find_element(By.ID, "open-docs").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path")))
        paths = [
            e.get_attribute("data-path") or e.text
            for e in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        ]
        loaded = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        return refused, paths, [driver.current_url, *loaded]
    finally:
        driver.quit()


async def test_the_docs_page_works_in_a_browser(settings: Settings) -> None:
    port = _closed_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: asyncio.sleep(0, server.started), bool, timeout=30)
        base = f"http://127.0.0.1:{port}"
        refused, paths, loaded = await asyncio.to_thread(_browse_docs, base)
    finally:
        server.should_exit = True
        await serving
    assert refused == "The server refused that token."
    assert "/v1/events" in paths and "/v1/dead-letters/replay" in paths
    assert loaded and all(url.startswith(base) for url in loaded), loaded
