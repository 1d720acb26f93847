"""Text Postgres cannot store is refused by the catalog, alike at the API and in every reader.

Before: an ``answer-submitted`` whose ``answer_given`` held NUL passed the
catalog, got a diagnosis, and the learning projection then failed to store the
attempt: the diagnosis existed and the attempt did not.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from events import Context, encode, header
from events.text import TEXT_ERROR_TYPE
from projections.db import make_engine
from services.bootstrap import bootstrap
from services.bus.consumer import Delivery
from services.bus.producer import EventPublisher
from services.runtime.dead_letters import read_dead_letter
from services.settings import Settings
from tests.support.api import api_client
from tests.support.helpers import (
    answer_event,
    background,
    count_rows,
    query_rows,
    read_topic,
    topic_size,
    wait_until,
)
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, authorized=False) as c:
        yield c


def _answer(answer_given: str) -> dict[str, Any]:
    return {
        "event_type": "answer-submitted",
        "payload": {
            "learner_id": "ada",
            "session_id": "s1",
            "concept_id": str(uuid.uuid4()),
            "question_id": "q1",
            "correct": False,
            "response_time_ms": 5000,
            "answer_given": answer_given,
        },
    }


async def test_the_api_answers_422_naming_the_field(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    learning = settings.topics().domain(Context.LEARNING)
    # httpx spells the NUL as the JSON escape \u0000, as any JSON encoder does
    r = await client.post("/v1/events", json=_answer("255.255.255.0\x00"), headers=AUTH)
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [(e["loc"], e["type"]) for e in errors] == [
        (["body", "payload", "answer_given"], TEXT_ERROR_TYPE)
    ]
    assert "NUL (U+0000)" in errors[0]["msg"]

    # in a batch, the whole batch is refused and the index named
    batch = [_answer("fine"), _answer("also\x00not")]
    r = await client.post("/v1/events", json=batch, headers=AUTH)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", 1, "payload", "answer_given"]]

    # a lone surrogate escape is refused too (never a 500), and nothing was published
    body = b'{"event_type":"answer-submitted","payload":{"learner_id":"ada","session_id":"s1",'
    body += b'"concept_id":"5f0c6a9e-52a4-4c5e-a0b4-0b8f7e0f2f11","question_id":"q1",'
    body += b'"correct":false,"response_time_ms":5000,"answer_given":"a\\ud800"}}'
    r = await client.post(
        "/v1/events", content=body, headers=AUTH | {"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "payload", "answer_given"]]
    assert await topic_size(settings, [learning]) == 0

    # legal text beyond the basic plane goes through
    r = await client.post("/v1/events", json=_answer("\U0001f600 \U0001d518"), headers=AUTH)
    assert r.status_code == 202, r.text
    assert await topic_size(settings, [learning]) == 1


def _spelled(answer_given_json: bytes, learner: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A wrong answer of ``learner`` as a producer in another language would write it:
    ``answer_given`` spelled in JSON as ``answer_given_json``."""
    enc = encode(answer_event(learner, correct=False, answer_given="@@"))
    return enc.value.replace(b'"answer_given":"@@"', b'"answer_given":' + answer_given_json), (
        enc.headers
    )


async def test_every_reader_dead_letters_it_for_the_same_reason(settings: Settings) -> None:
    topic = settings.topics().domain(Context.LEARNING)
    goods = [answer_event(f"good-{i}", correct=False) for i in range(4)]
    nul_value, nul_headers = _spelled(b'"255.255.255.0\\u0000"', "nul-learner")
    sur_value, _ = _spelled(b'"a\\udc00b"', "surrogate-learner")
    # with the Kafka headers (the one-pass decoding path) and without (the general path)
    bad = [
        (nul_value, nul_headers, "text contains NUL (U+0000)"),
        (sur_value, [], "text contains an unpaired surrogate (U+DC00)"),
    ]
    async with EventPublisher(settings) as pub:
        for i, good in enumerate(goods):
            await pub.publish([good])
            if i < len(bad):
                value, headers, _ = bad[i]
                learner = b"nul-learner" if i == 0 else b"surrogate-learner"
                await pub.send_raw(topic, learner, value, headers)

    # without headers every reader of the topic decodes the message; with them, only
    # the readers that take answer-submitted do (the others skip it by header)
    on_topic = [
        p for p in bootstrap(settings).projections.values() if topic in p.topics(settings.topics())
    ]
    all_readers = {"diagnoser"} | {f"projection.{p.name}" for p in on_topic}
    answer_readers = {"diagnoser"} | {
        f"projection.{p.name}" for p in on_topic if p.wants("answer-submitted")
    }
    assert "projection.learning" in answer_readers
    readers = {nul_value: answer_readers, sur_value: all_readers}
    expected_dead = sum(len(r) for r in readers.values())
    engine = make_engine(settings)
    try:
        async with background(
            agent(settings, "diagnoser"),
            projector(settings),
        ):
            await wait_until(
                lambda: count_rows(engine, "dead_letters"),
                lambda n: n == expected_dead,
                timeout=60,
                what=f"{expected_dead} dead letters",
            )
            await wait_until(
                lambda: count_rows(engine, "diagnoses"),
                lambda n: n == len(goods),
                timeout=60,
                what=f"{len(goods)} diagnoses",
            )
            await wait_until(
                lambda: count_rows(engine, "attempts"),
                lambda n: n == len(goods),
                timeout=60,
                what=f"{len(goods)} attempts",
            )
        learners = "('nul-learner', 'surrogate-learner')"
        for table in ("diagnoses", "attempts", "learner_concepts"):
            assert await count_rows(engine, table, f"WHERE learner_id IN {learners}") == 0, table
        good_learners = {r[0] for r in await query_rows(engine, "SELECT learner_id FROM attempts")}
        assert good_learners == {f"good-{i}" for i in range(4)}
        stored = await query_rows(engine, "SELECT agent, kind, reason FROM dead_letters")
        assert {(a, k) for a, k, _ in stored} == {(r, "invalid_payload") for r in all_readers}
    finally:
        await engine.dispose()

    records = await read_topic(settings, settings.topics().dlq(Context.LEARNING))
    infos = [read_dead_letter(Delivery.from_record(r)) for r in records]
    for value, _, problem in bad:
        hits = [i for i in infos if i.original == value]
        assert sorted(i.agent for i in hits) == sorted(readers[value])
        assert {i.kind for i in hits} == {"invalid_payload"}
        (reason,) = {i.reason for i in hits}  # one reason, whoever read it
        assert reason.startswith(f"answer-submitted: payload.answer_given: {problem}"), reason
    # the diagnoser published no diagnosis for them either
    published = [header(r.headers, "event_type") for r in await read_topic(settings, topic)]
    assert published.count("failure-diagnosed") == len(goods)
