"""The HTTP API: auth, validation of single events and batches, reads, health, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from events import Context
from projections.db import make_engine
from services.agents import run_diagnoser, run_projector
from services.api.app import create_app
from services.settings import Settings
from tests.support.helpers import background, count_rows, topic_size, wait_until

pytestmark = pytest.mark.integration

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
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
        ("GET", "/docs"),
        ("GET", "/v1/dead-letters"),
    ],
)
async def test_everything_but_healthz_needs_the_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    assert (await client.request(method, path)).status_code == 401
    wrong = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"


async def test_healthz_is_open(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "broker": True, "database": True}


async def test_openapi_is_served_with_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json", headers=AUTH)).json()
    assert "/v1/events" in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


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
            lambda stop: run_diagnoser(settings, stop),
            lambda stop: run_projector(settings, stop),
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
