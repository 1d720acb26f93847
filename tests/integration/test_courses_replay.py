"""Replay equals live for the ``courses`` read model (``courses``, ``course_candidates``,
``course_events``), with no model call during the replay.

Built live through the broker: courses selected on the llm path (the real anthropic SDK
on the fake server) and on the rules, one needing attention, one on the single path
with its improvement attempt, one whose every candidate failed, and a request
delivered twice (everything downstream of it comes twice, under the same ids). Then
the projection is rebuilt from the log (what `nls replay` runs) and must checksum
equal to live, while every model call (``Gateway.generate``, and the fake server's
requests) is counted.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from events import Context, Envelope
from events.courses import CourseRequested
from projections.base import checkpoint_positions
from projections.checksum import checksum
from projections.db import make_engine
from projections.replay import rebuild
from services.bootstrap import bootstrap
from services.bus.producer import EventPublisher
from services.generation import Gateway
from services.settings import Settings
from tests.integration.test_courses_flow import low_scores, served, wrong_first
from tests.support.courses import course_agents, finished_course
from tests.support.helpers import background, count_rows, topic_size, wait_until
from tests.support.platform import projector
from tools.fakellm import data_of
from tools.fakellm.simulated import simulated_model

pytestmark = pytest.mark.integration


def count_model_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every model call made in this process, by any gateway."""
    calls: Counter[str] = Counter()
    generate = Gateway.generate

    async def counted(self: Gateway, *args: Any, **kw: Any) -> Any:
        calls["model"] += 1
        return await generate(self, *args, **kw)

    monkeypatch.setattr(Gateway, "generate", counted)
    return calls


def by_request(body: dict[str, Any]) -> str:
    """Geography scores low; grade 2 maths is wrong at first; the rest is a good model's."""
    request = data_of(body)["request"]
    if request["subject"] == "geography":
        return low_scores(body)
    if request["subject"] == "math" and request["grade"] == 2:
        return wrong_first(body)
    return simulated_model(body)


def course(**values: Any) -> Envelope:
    return Envelope.new(CourseRequested(course_id=uuid.uuid4(), **values), source="test")


async def test_the_courses_read_model_replays_equal_to_live_without_model_calls(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_model_calls(monkeypatch)
    twice = course(subject="math", grade=5, candidate_count=3, strategy="llm")
    requests = [
        twice,
        twice,  # redelivered: the same event id
        course(subject="ccna", grade=9, candidate_count=2, strategy="rules"),
        course(
            subject="geography",
            grade=4,
            groups=1,
            items_per_group=2,
            candidate_count=3,
            strategy="llm",
        ),
        course(subject="math", grade=2, use_candidates=False, strategy="llm"),
        course(subject="history", grade=6, candidate_count=2, strategy="rules"),  # no source
    ]
    ids = list(dict.fromkeys(r.payload_as(CourseRequested).course_id for r in requests))
    topic = settings.topics().domain(Context.COURSES)
    projection = bootstrap(settings).projection("courses")
    engine = make_engine(settings)

    async def projected() -> tuple[int, int]:
        async with engine.connect() as conn:
            done = await checkpoint_positions(conn)
        at = sum(o for (p, t, _), o in done.items() if p == "courses" and t == topic)
        return at, await topic_size(settings, [topic])

    try:
        with served(by_request) as (model, gateway):
            async with background(projector(settings, "courses")):
                async with course_agents(settings, gateway, with_projector=False):
                    async with EventPublisher(settings) as pub:
                        await pub.publish(requests)
                    finished = {cid: (await finished_course(engine, cid))[0] for cid in ids}
                # The agents stopped; the projector folds what is left of the log.
                await wait_until(projected, lambda p: p[0] == p[1], what="the projector")
                live, tables = await checksum(engine, projection)
            before = (Counter(calls), len(model.requests))
            async with EventPublisher(settings, client_id="replay") as pub:
                result = await rebuild(projection, settings=settings, engine=engine, publisher=pub)
            replayed, replayed_tables = await checksum(engine, projection)
            after = (Counter(calls), len(model.requests))
            rows = {t: await count_rows(engine, t) for t in ("courses", "course_candidates")}
    finally:
        await engine.dispose()

    assert before[0]["model"] > 0 and before[1] > 0  # the live build asked the model
    assert after == before  # and the replay did not
    assert replayed == live, (tables, replayed_tables)
    assert result.dead_letters == 0 and result.applied > tables[2].rows, (result, tables)
    assert [finished[cid].status for cid in ids] == [
        "SELECTED",
        "SELECTED",
        "NEEDS_ATTENTION",
        "SELECTED",
        "FAILED",
    ]
    assert finished[ids[3]].summary.method == "single"
    assert finished[ids[4]].error == "all_candidates_failed"
    # 3 + 2 + 3 candidates, the single path's two attempts, 2 failed candidates
    assert rows == {"courses": 5, "course_candidates": 3 + 2 + 3 + 2 + 2}
