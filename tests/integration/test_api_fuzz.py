"""schemathesis over the API's own OpenAPI, in-process, against the real broker and Postgres.

Every operation gets 100 generated requests (valid and invalid ones; an
operation without input gets its one request) with a valid token, and each
event type of the catalog 25 more on ``POST /v1/events``; a server error, a
status code the document does not declare, or a body or content type that
does not match it fails the test. The read models exist and hold a few rows
(answers, their diagnoses, a dead letter), so reads reach Postgres.

Operations are parametrized here rather than with ``schemathesis.pytest``:
its lazy fixture loader breaks on pytest 9 (``Function._nodeid``).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from events import CATALOG, Context
from projections.db import make_engine
from projections.runner import setup_tables
from services.api.app import create_app
from services.api.event_body import publishable
from services.bootstrap import bootstrap
from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.settings import Settings
from tests.conftest import make_settings
from tests.support.helpers import answer_event, background, count_rows, wait_until
from tests.support.platform import agent, projector
from tools.devstack.provision import BrokerInfo, DatabaseInfo

pytestmark = pytest.mark.integration

AUTH = {"Authorization": "Bearer test-token"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


async def _seed(s: Settings) -> None:
    """Tables for every read model, a few answers folded into them, and one dead letter."""
    await ensure_topics(s)
    engine = make_engine(s)
    try:
        for projection in bootstrap(s).projections.values():
            await setup_tables(engine, projection)
        answers = [answer_event("NIL", correct=False, question_id=f"q{i}") for i in range(3)]
        async with EventPublisher(s) as pub:
            await pub.publish(answers)
            topic = s.topics().domain(Context.LEARNING)
            await pub.send_raw(topic, b"NIL", b"{not json", [])
        async with background(agent(s, "diagnoser"), projector(s)):
            await wait_until(lambda: count_rows(engine, "diagnoses"), lambda n: n == 3, timeout=60)
            await wait_until(
                lambda: count_rows(engine, "dead_letters"), lambda n: n > 0, timeout=60
            )
    finally:
        await engine.dispose()


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation; the document needs no connection, so this runs
    at collection and each operation is a test of its own."""
    offline = Settings(api_token=SecretStr("x"), database_url="postgresql://x@127.0.0.1:1/x")
    spec = create_app(offline).openapi()
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def api_schema(kafka: BrokerInfo, postgres: DatabaseInfo) -> Iterator[Any]:
    s = make_settings(kafka, postgres)
    asyncio.run(_seed(s))
    app = create_app(s)
    # schemathesis runs the app (and its lifespan) on its own event-loop thread.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)
    try:
        yield schema
    finally:
        shutdown_lifespans()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_keeps_its_own_contract(api_schema: Any, method: str, path: str) -> None:
    operation = api_schema[path][method]
    takes_input = bool(operation.path_parameters or operation.query or operation.body)
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if takes_input else [])
    cases = st.one_of(*(operation.as_strategy(generation_mode=m, headers=AUTH) for m in modes))

    @given(case=cases)
    @settings(
        max_examples=100,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure shows its case as is
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def keeps_contract(case: Any) -> None:
        _short_waits(case)
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    keeps_contract()


LONG_POLLS = ("wait", "wait_s", "waitS")


def _short_waits(case: Any) -> None:
    """A long-poll parameter (``?wait=`` seconds for an outcome no agent here produces)
    is capped at half a second, so an example does not idle for minutes; a value the
    schema refuses is kept as it is, to be refused."""
    for name in LONG_POLLS:
        value = (case.query or {}).get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0.5 < value <= 120:
            case.query[name] = 0.5


EVENT_TYPES = [spec.event_type for spec in CATALOG if publishable(spec)]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_is_published_or_refused(api_schema: Any, event_type: str) -> None:
    """The union in one body draws few examples of each type; here each type gets its own
    run, so no type's valid events can answer 500 (one that the catalog accepts but
    cannot encode, say)."""
    raw = copy.deepcopy(api_schema.raw_schema)
    union = raw["components"]["schemas"]["events.Event"]
    raw["components"]["schemas"]["events.Event"] = {
        "$ref": union["discriminator"]["mapping"][event_type]
    }
    raw["paths"] = {"/v1/events": raw["paths"]["/v1/events"]}
    narrowed = schemathesis.openapi.from_dict(raw)
    narrowed.app, narrowed.location = api_schema.app, api_schema.location  # as from_asgi does
    operation = narrowed["/v1/events"]["POST"]

    @given(case=operation.as_strategy(headers=AUTH))
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def published_or_refused(case: Any) -> None:
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    published_or_refused()
