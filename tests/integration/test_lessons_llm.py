"""The llm strategy through the real SDKs (anthropic, google-genai) against the fake servers,
through the broker, with every kind of bad rewrite Phase 10 can get back.

A rewrite that is not JSON, is cut off, is not a lesson, or is a lesson damaged in a
way one validator layer catches, never replaces the lesson: the original stays the
current version, byte for byte, the version row records why, and nothing falls back
to another way of rewriting. A rewrite that cannot run at all (the API overloaded)
is a failed refinement, said so in the improve body.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from projections.db import make_engine
from services.generation import Gateway
from services.generation.anthropic_provider import AnthropicProvider
from services.generation.contract import Provider
from services.generation.gemini_provider import GeminiProvider
from services.settings import Settings
from tests.support.helpers import background, query_rows
from tests.support.lessons import REWRITES, LessonModel, api_client, finished, lesson_agents
from tools.fakellm import FakeLLM

pytestmark = pytest.mark.integration

BAD = [k for k in REWRITES if k not in ("better", "worse")]
# Why each bad rewrite is refused: the parser's reason or the validator layer's failure.
REFUSED = {
    "not_json": ("rejected_parse", "malformed_json"),
    "cut_json": ("rejected_parse", "malformed_json"),
    "not_a_lesson": ("rejected_parse", "schema_violation"),
    "dropped_block": ("rejected_validation", "structural: block count changed"),
    "changed_id": ("rejected_validation", "structural: blocks[0].id changed"),
    "object_object": ("rejected_validation", "corruption: "),
    "bad_answer_type": ("rejected_validation", "'matching' is not a valid answer type"),
    "emptied_explanation": ("rejected_validation", "completeness: "),
}


def provider_for(flavour: Literal["anthropic", "gemini"], url: str) -> Provider:
    if flavour == "anthropic":
        return AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=url, max_retries=0)
    return GeminiProvider(api_key="k", model="gemini-2.5-flash", base_url=url, max_retries=0)


@pytest.mark.parametrize("flavour", ["anthropic", "gemini"])
async def test_bad_rewrites_through_the_sdk_never_replace_the_lesson(
    settings: Settings, flavour: Literal["anthropic", "gemini"]
) -> None:
    assert set(REFUSED) == set(BAD)
    lesson_id = f"{flavour}-ring"
    model = LessonModel()
    model.plan(lesson_id, "cut_json", *BAD)
    engine = make_engine(settings)
    bodies: dict[str, Any] = {}
    with FakeLLM(flavour, responder=model) as fake:
        try:
            async with (
                background(*lesson_agents(settings, Gateway([provider_for(flavour, fake.url)]))),
                api_client(settings) as api,
            ):
                body = {"pack": "cg2365", "topic": "ring-final-circuit", "strategy": "llm"}
                posted = await api.post("/v1/lessons", json={**body, "lessonId": lesson_id})
                assert posted.status_code == 202, posted.text
                made = await finished(api, lesson_id)
                for kind in BAD:
                    answer = await api.post(f"/v1/lessons/{lesson_id}/improve")
                    assert answer.status_code == 200, (kind, answer.text)
                    bodies[kind] = answer.json()
                # the API overloaded: the rewrite cannot run at all
                fake.fail(529 if flavour == "anthropic" else 503)
                overloaded = await api.post(f"/v1/lessons/{lesson_id}/improve")
                after = await finished(api, lesson_id)
                versions = (await api.get(f"/v1/lessons/{lesson_id}/versions")).json()
            rewrites = await query_rows(
                engine,
                "SELECT strategy, provider, fallback_from, prompt_version, input_tokens "
                "FROM generation_usage WHERE task = 'lesson-rewrite'",
            )
        finally:
            await engine.dispose()

    # the lesson was made by the model through this SDK; Phase 10 refused the cut reply
    phases = {p["phase"]: p for p in made["phases"]}
    assert phases["planning"]["strategy"] == "llm" and phases["explanation"]["input_tokens"] > 0
    assert made["status"] == "completed" and made["current_version"] == 1
    auto = [v for v in versions if v["trigger"] == "auto"]
    assert [v["outcome"] for v in auto] == ["rejected_parse"]
    assert "malformed_json" in auto[0]["reason"]

    # every bad rewrite refused, saying why, in the improve body and the version row
    improvements = [v for v in versions if v["trigger"] == "improve"]
    assert len(improvements) == len(BAD) + 1

    def recorded(v: dict[str, Any], why: str) -> bool:
        return why in v["reason"] or any(why in f for f in v["validation_failures"])

    for kind, (outcome, why) in REFUSED.items():
        b = bodies[kind]
        assert b["success"] and not b["wasImproved"], (kind, b)
        assert b["finalScore"] == b["originalScore"] == 85 and b["scoreDelta"] == 0
        assert any(why in f for f in b["validationFailures"]), (kind, b)
        assert any(v["outcome"] == outcome and recorded(v, why) for v in improvements), kind
    rejected = [v for v in versions if v["outcome"] == "rejected_validation"]
    assert all(v["validation_failures"] and v["status"] == "rejected" for v in rejected)

    # a rewrite that could not run is a failed refinement, not an improvement
    assert overloaded.status_code == 200
    failed = overloaded.json()
    assert (
        not failed["success"]
        and not failed["wasImproved"]
        and "provider_error" in (failed["error"])
    )

    # the original is still the lesson, unchanged; nothing else rewrote it
    assert (after["current_version"], after["score"]) == (1, 85)
    assert after["lesson"] == made["lesson"]
    (original,) = [v for v in versions if v["version_key"] == "original"]
    assert original["status"] == "current" and original["lesson"] == made["lesson"]
    assert not any(v["applied"] for v in versions)
    assert {(r[0], r[1], r[2], r[3]) for r in rewrites} == {
        ("llm", flavour, None, "lesson-rewrite@v1")
    }
    # every rewrite asked is accounted, the refused and the failed ones too: a reply
    # that does not parse is asked again once, the overloaded call reached no model
    assert len(rewrites) == 1 + len(BAD) + 1
    assert sorted(r[4] > 0 for r in rewrites) == [False] + [True] * (1 + len(BAD))
    unparsed = sum(REFUSED[k][0] == "rejected_parse" for k in ("cut_json", *BAD))
    assert model.tasks(lesson_id)["lesson-rewrite"] == 1 + len(BAD) + unparsed
