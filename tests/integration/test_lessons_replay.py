"""Replay equals live for the lessons read models (`lessons`, `lesson_phases`,
`lesson_versions`) and for `generation_usage`, with no model call.

Built live through the broker with the llm strategy on the fake Anthropic server:
lessons whose Phase 10 rewrite is accepted, refused by a validator and refused by the
score gate, a rules lesson, improvements (accepted, refused, of an unknown lesson).
Each read model is then rebuilt from offset 0 into fresh tables (what `nls replay`
runs) and must checksum equal to live. Every model call goes through
``Gateway.generate`` and the fake server, and both are counted.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from events import Context, Envelope, decode
from events.lessons import (
    LessonImproveRequested,
    LessonPhaseRequested,
    LessonRewriteRequested,
    LessonScoringRequested,
)
from projections.checksum import checksum
from projections.db import make_engine
from projections.replay import rebuild
from services.bootstrap import bootstrap
from services.bus.producer import EventPublisher
from services.generation import Gateway
from services.generation.anthropic_provider import AnthropicProvider
from services.settings import Settings
from tests.support.helpers import background, read_topic, wait_until
from tests.support.lessons import LessonModel, api_client, finished, lesson_agents
from tools.fakellm import FakeLLM

pytestmark = pytest.mark.integration

READ_MODELS = ("lessons", "generation_usage")
LESSONS: dict[str, tuple[dict[str, Any], str | None]] = {
    "r-final": ({"pack": "cg2365", "topic": "final-circuits", "strategy": "llm"}, "better"),
    "r-ohm": (
        {
            "pack": "cg2365",
            "topic": "ohms-law",
            "prerequisites": ["electrical-power"],
            "strategy": "llm",
        },
        "emptied_explanation",
    ),
    "r-vlan": ({"pack": "ccna", "topic": "vlans", "strategy": "llm"}, "worse"),
    "r-iso": ({"pack": "cg2365", "topic": "safe-isolation", "strategy": "rules"}, None),
}


def count_model_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every call to ``Gateway.generate`` in this process, by any gateway."""
    calls: Counter[str] = Counter()
    generate = Gateway.generate

    async def counted(self: Gateway, *args: Any, **kw: Any) -> Any:
        calls["model"] += 1
        return await generate(self, *args, **kw)

    monkeypatch.setattr(Gateway, "generate", counted)
    return calls


async def requests_in_log(settings: Settings) -> Counter[tuple[str, str]]:
    """Each request the pipeline made (phases, scores, rewrites), by its event id's role."""
    found: Counter[tuple[str, str]] = Counter()
    for record in await read_topic(settings, settings.topics().domain(Context.LESSONS)):
        event = decode(record.value)
        p = event.payload
        if isinstance(p, LessonPhaseRequested | LessonScoringRequested | LessonRewriteRequested):
            found[(event.key, str(event.event_id))] += 1
    return found


async def test_lesson_read_models_replay_equal_live_and_the_saga_rebuilds_from_the_log(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_model_calls(monkeypatch)
    model = LessonModel()
    for lesson_id, (_, rewrite) in LESSONS.items():
        if rewrite:
            model.plan(lesson_id, rewrite)
    model.plan("r-ohm", "better")
    model.plan("r-vlan", "bad_answer_type")
    engine = make_engine(settings)
    with FakeLLM("anthropic", responder=model) as fake:
        gateway = Gateway(
            [AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=fake.url)]
        )
        try:
            async with (
                background(*lesson_agents(settings, gateway)),
                api_client(settings) as api,
            ):
                for lesson_id, (body, _) in LESSONS.items():
                    posted = await api.post("/v1/lessons", json={**body, "lessonId": lesson_id})
                    assert posted.status_code == 202, posted.text
                made = {lid: await finished(api, lid) for lid in LESSONS}
                improved = (await api.post("/v1/lessons/r-ohm/improve")).json()
                refused = (await api.post("/v1/lessons/r-vlan/improve")).json()
                # improve-lesson of a lesson the pipeline never saw: a failed verdict
                nobody = LessonImproveRequested(lesson_id="nobody", request_id=uuid.uuid4())
                async with EventPublisher(settings) as pub:
                    await pub.publish([Envelope.new(nobody, source="test")])
                unknown = await wait_until(
                    lambda: api.get(f"/v1/lessons/nobody/improvements/{nobody.request_id}"),
                    lambda r: r.status_code == 200,
                    what="the verdict on an unknown lesson",
                )
                asked = await requests_in_log(settings)
                live_views = {lid: await finished(api, lid) for lid in LESSONS}
            live = {}
            for name in READ_MODELS:
                live[name], _ = await checksum(engine, bootstrap(settings).projection(name))
            before = (calls["model"], len(fake.requests))
            assert before[0] > 0 and before[1] > 0  # the live build asked the model

            applied = {}
            async with EventPublisher(settings, client_id="replay") as pub:
                for name in READ_MODELS:
                    projection = bootstrap(settings).projection(name)
                    result = await rebuild(
                        projection, settings=settings, engine=engine, publisher=pub
                    )
                    applied[name] = result.applied
                    assert result.dead_letters == 0, name
                    assert (await checksum(engine, projection))[0] == live[name], name
            after = (calls["model"], len(fake.requests))
            async with api_client(settings) as api:
                replayed = {lid: await finished(api, lid) for lid in LESSONS}
        finally:
            await engine.dispose()

    assert after == before  # no model call during the replay
    assert replayed == live_views
    assert {lid: v["status"] for lid, v in made.items()} == dict.fromkeys(LESSONS, "completed")
    assert (made["r-final"]["current_version"], made["r-final"]["score"]) == (2, 93)
    assert (made["r-ohm"]["current_version"], made["r-vlan"]["current_version"]) == (1, 1)
    assert (improved["wasImproved"], improved["originalScore"], improved["finalScore"]) == (
        True,
        85,
        93,
    )
    assert refused["success"] and refused["validationFailures"]
    assert unknown.json()["success"] is False and unknown.json()["error"] == "no such lesson"
    assert replayed["r-ohm"]["current_version"] == 2 and replayed["r-vlan"]["current_version"] == 1

    # every request the pipeline made is in the log once
    assert all(n == 1 for n in asked.values())
    assert applied["lessons"] > len(asked) and applied["generation_usage"] > 0
