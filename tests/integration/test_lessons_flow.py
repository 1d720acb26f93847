"""Lessons through the broker into Postgres: every lesson agent and the projector in this
process, the llm strategy through the real anthropic SDK on the fake server.

The fake server's judge scores a lesson as made 85 ("Usable"), so Phase 10 runs: a
rewrite that makes the short answers accept variants scores 93 and is applied, one that
drops a block is rejected by the validators, one that scores 80 by the score gate.
Asked for over HTTP (``POST /v1/lessons``), read back over HTTP (the assembled lesson
in contract order, the phases with their timings and tokens, every version), improved
over HTTP in each outcome; then the same through ``nls lessons generate|show|improve``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.db import make_engine
from services.generation import Gateway
from services.generation.anthropic_provider import AnthropicProvider
from services.settings import Settings
from tests.support.cli import invoke, said
from tests.support.helpers import background, query_rows
from tests.support.lessons import (
    CountingProvider,
    LessonModel,
    api_client,
    finished,
    lesson_agents,
)
from tools.fakellm import FakeLLM

pytestmark = pytest.mark.integration

CONTRACT_ORDERS = (1, 2, 3, 4, 4.5, 5, 5.5, 6, 8, 9.5, 10)
PHASES = (
    "planning",
    "vocabulary",
    "explanation",
    "understanding_checks",
    "worked_example",
    "practice",
    "integration",
    "spaced_review",
    "assembler",
    "rewrite",
)


def task_of(phase: str) -> str:
    return f"lesson-{phase.replace('_', '-')}"


def in_contract_order(lesson: dict[str, Any]) -> list[str]:
    """The lesson's block types, after checking their orders follow the contract."""
    orders = [b["order"] for b in lesson["blocks"]]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert set(orders) <= set(CONTRACT_ORDERS) and {1, 2, 4, 4.5, 8, 9.5} <= set(orders)
    return [b["type"] for b in lesson["blocks"]]


def short_answers(lesson: dict[str, Any]) -> list[list[str]]:
    return [
        q["expectedAnswer"]
        for b in lesson["blocks"]
        for q in b["content"].get("questions", [])
        if q["answerType"] == "short-text"
    ]


async def tokens_recorded(engine: AsyncEngine) -> list[tuple[int, int]]:
    """Input and output tokens in ``lessons`` and in ``generation_usage``."""
    found = []
    for table in ("lessons", "generation_usage"):
        rows = await query_rows(
            engine, f"SELECT sum(input_tokens), sum(output_tokens) FROM {table}"
        )
        found.append((int(rows[0][0]), int(rows[0][1])))
    return found


def anthropic(model: FakeLLM) -> CountingProvider:
    return CountingProvider(
        AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=model.url)
    )


async def test_lessons_are_made_scored_refined_and_served_over_http(settings: Settings) -> None:
    model = LessonModel()
    model.plan("cg-final", "better")
    model.plan("cg-ohm", "dropped_block", "better")
    model.plan("ccna-ospf", "worse", "object_object", "worse")
    requests: dict[str, dict[str, Any]] = {
        "cg-final": {"pack": "cg2365", "topic": "final-circuits", "strategy": "llm"},
        "cg-ohm": {
            "pack": "cg2365",
            "topic": "ohms-law",
            "prerequisites": ["electrical-power"],
            "strategy": "llm",
        },
        "ccna-ospf": {"pack": "ccna", "topic": "ospf", "strategy": "llm"},
        "cg-iso": {"pack": "cg2365", "topic": "safe-isolation", "strategy": "rules"},
    }
    engine = make_engine(settings)
    with FakeLLM("anthropic", responder=model) as fake:
        provider = anthropic(fake)
        try:
            async with (
                background(*lesson_agents(settings, Gateway([provider]))),
                api_client(settings) as api,
            ):
                for lesson_id, body in requests.items():
                    accepted = await api.post("/v1/lessons", json={**body, "lessonId": lesson_id})
                    assert accepted.status_code == 202, accepted.text
                    assert accepted.json()["lessonId"] == lesson_id
                views = {lid: await finished(api, lid) for lid in requests}
                listed = (await api.get("/v1/lessons")).json()
                only_ccna = (await api.get("/v1/lessons", params={"pack": "ccna"})).json()
                versions = {
                    lid: (await api.get(f"/v1/lessons/{lid}/versions")).json() for lid in requests
                }
                calls_made = {lid: model.tasks(lid) for lid in requests}

                # improve-lesson, in each outcome
                improved = await api.post("/v1/lessons/cg-ohm/improve", json={"lessonId": "cg-ohm"})
                invalid = await api.post("/v1/lessons/ccna-ospf/improve")
                no_better = await api.post("/v1/lessons/ccna-ospf/improve")
                unknown = await api.post("/v1/lessons/nobody/improve")
                mismatch = await api.post("/v1/lessons/cg-ohm/improve", json={"lessonId": "x"})
                after = {lid: await finished(api, lid) for lid in ("cg-ohm", "ccna-ospf")}
                ospf_versions = (await api.get("/v1/lessons/ccna-ospf/versions")).json()
            tokens = await tokens_recorded(engine)
        finally:
            await engine.dispose()

    # every lesson completed, listed newest first; the rules lesson asked no model
    assert {v["lesson_id"]: v["status"] for v in views.values()} == dict.fromkeys(
        requests, "completed"
    )
    assert {x["lesson_id"] for x in listed} == set(requests)
    assert [x["lesson_id"] for x in only_ccna] == ["ccna-ospf"]
    assert not calls_made["cg-iso"] and views["cg-iso"]["input_tokens"] == 0

    # the assembled lesson in contract order; spaced review last, from the prerequisite
    ohm = views["cg-ohm"]
    types = in_contract_order(ohm["lesson"])
    assert "worked-example" in types and types[-1] == "spaced-review"
    assert "spaced-review" not in in_contract_order(views["cg-final"]["lesson"])
    for view in views.values():
        in_contract_order(view["lesson"])

    # every phase once, with its timing, strategy and tokens
    for lid, view in views.items():
        phases = {p["phase"]: p for p in view["phases"]}
        assert [p["phase"] for p in view["phases"]] == list(PHASES), lid
        assert all(p["duration_ms"] is not None and p["completed_at"] for p in phases.values())
        for name, p in phases.items():
            if p["status"] == "skipped":
                assert p["skipped_reason"], (lid, name)
                continue
            assert p["status"] == "completed", (lid, name)
            if lid == "cg-iso" or name == "rewrite":
                continue
            if calls_made[lid][task_of(name)]:
                assert p["strategy"] == "llm" and p["prompt_version"] == f"{task_of(name)}@v1"
                assert p["input_tokens"] > 0 and p["output_tokens"] > 0, (lid, name)
            else:  # spaced review without prerequisites: empty, no model asked
                assert (name, p["strategy"]) == ("spaced_review", "rules") and lid != "cg-ohm"
    assert {p["phase"]: p["status"] for p in views["cg-final"]["phases"]}["worked_example"] == (
        "skipped"
    )
    iso = {p["phase"]: p for p in views["cg-iso"]["phases"]}
    assert iso["rewrite"]["status"] == "skipped"
    assert "at or above the threshold 97" in iso["rewrite"]["skipped_reason"]
    assert {p["strategy"] for n, p in iso.items() if p["status"] == "completed"} == {"rules"}

    # each model task once a lesson: the judge twice when a candidate was scored
    for lid in ("cg-final", "cg-ohm", "ccna-ospf"):
        made = calls_made[lid]
        assert all(made[task_of(p)] <= 1 for p in PHASES[:9]), (lid, made)
        assert made["lesson-rewrite"] == 1, lid
    assert calls_made["cg-final"]["lesson-scoring"] == 2
    assert calls_made["cg-ohm"]["lesson-scoring"] == 1  # a rejected rewrite is not scored
    assert calls_made["ccna-ospf"]["lesson-scoring"] == 2

    # the score and its history; Phase 10 accepted, rejected by a validator, by the gate
    final = views["cg-final"]
    assert (final["score"], final["current_version"]) == (93, 2)
    assert [(h["purpose"], h["total"], h["method"]) for h in final["score_history"]] == [
        ("original", 85, "llm"),
        ("candidate", 93, "llm"),
    ]
    assert all(len(a) == 2 for a in short_answers(final["lesson"]))
    by_key = {v["version_key"]: v for v in versions["cg-final"]}
    assert by_key["original"]["status"] == "superseded" and by_key["original"]["score"] == 85
    assert by_key["original"]["lesson"] is not None  # saveOriginal keeps it
    (refined,) = [v for k, v in by_key.items() if k != "original"]
    assert (refined["status"], refined["outcome"], refined["version"]) == ("current", "accepted", 2)
    assert refined["score"] == 93 and refined["lesson"] == final["lesson"]
    rewrite = {p["phase"]: p for p in final["phases"]}["rewrite"]
    assert rewrite["status"] == "completed" and rewrite["input_tokens"] > 0

    assert (ohm["score"], ohm["current_version"]) == (85, 1)
    (rejected,) = [v for v in versions["cg-ohm"] if v["version_key"] != "original"]
    assert rejected["outcome"] == "rejected_validation" and rejected["status"] == "rejected"
    assert any("block count changed" in f for f in rejected["validation_failures"])
    assert rejected["score"] is None and rejected["original_score"] == 85

    ospf = views["ccna-ospf"]
    assert (ospf["score"], ospf["current_version"]) == (85, 1)
    (gated,) = [v for v in versions["ccna-ospf"] if v["version_key"] != "original"]
    assert (gated["outcome"], gated["score"], gated["applied"]) == ("rejected_score", 80, False)
    assert "80 < 85" in gated["reason"] and gated["lesson"]["description"].endswith("worse)")
    (original,) = [v for v in versions["ccna-ospf"] if v["version_key"] == "original"]
    assert original["status"] == "current" and ospf["lesson"] == original["lesson"]

    # improve-lesson answers the seed's body in each outcome
    assert improved.status_code == 200, improved.text
    assert improved.json() == {
        "success": True,
        "wasImproved": True,
        "originalScore": 85,
        "finalScore": 93,
        "scoreDelta": 8,
    }
    body = invalid.json()
    assert body["success"] and not body["wasImproved"] and body["scoreDelta"] == 0
    assert any("[object Object]" in f for f in body["validationFailures"])
    assert no_better.json() == {
        "success": True,
        "wasImproved": False,
        "originalScore": 85,
        "finalScore": 85,
        "scoreDelta": 0,
    }
    assert unknown.status_code == 404 and mismatch.status_code == 422
    assert (after["cg-ohm"]["score"], after["cg-ohm"]["current_version"]) == (93, 2)
    assert after["ccna-ospf"]["current_version"] == 1 and after["ccna-ospf"]["status"] == (
        "completed"
    )
    outcomes = Counter(v["outcome"] for v in ospf_versions)
    assert outcomes == {None: 1, "rejected_score": 2, "rejected_validation": 1}

    # every token the model reported is in the read models once
    assert tokens == [(provider.input_tokens, provider.output_tokens)] * 2


async def test_nls_lessons_generate_show_and_improve(settings: Settings) -> None:
    model = LessonModel()
    model.plan("cli-ring", "dropped_block", "not_json", "worse", "better", "emptied_explanation")
    engine = make_engine(settings)
    with FakeLLM("anthropic", responder=model) as fake:
        provider = anthropic(fake)
        async with background(*lesson_agents(settings, Gateway([provider]))):
            generated = await invoke(
                settings,
                "lessons", "generate", "--pack", "cg2365", "--topic", "ring-final-circuit",
                "--strategy", "llm", "--lesson-id", "cli-ring", "--timeout", "90",
            )  # fmt: skip
            shown = await invoke(settings, "lessons", "show", "cli-ring")
            parse = await invoke(settings, "lessons", "improve", "cli-ring")
            worse = await invoke(settings, "lessons", "improve", "cli-ring")
            better = await invoke(settings, "lessons", "improve", "cli-ring")
            damaged = await invoke(settings, "lessons", "improve", "cli-ring")
            unknown = await invoke(settings, "lessons", "improve", "nobody")
            as_json = await invoke(settings, "lessons", "show", "cli-ring", "--json")
            # the garbage rewrite was asked twice (the re-ask): both calls are accounted
            tokens = await tokens_recorded(engine)
    await engine.dispose()

    assert generated.exit_code == 0, generated.output
    text = said(generated)
    assert "lesson cli-ring" in text and "completed: version 1, score 85" in text
    assert "show it with: nls lessons show cli-ring" in text
    assert shown.exit_code == 0, shown.output
    assert "version 1 · score 85 · completed" in said(shown)
    for kind in ("outcomes", "vocab", "explanation", "practice", "integrative"):
        assert f"· {kind} ·" in said(shown), kind
    assert parse.exit_code == 0 and "Validation failed: parse: " in said(parse)
    assert "malformed_json" in said(parse)
    assert worse.exit_code == 0 and said(worse) == "Score did not improve"
    assert better.exit_code == 0 and said(better) == "Improved! Score: 85 -> 93 (+8)"
    assert damaged.exit_code == 0 and said(damaged).startswith("Validation failed: completeness:")
    assert unknown.exit_code == 1 and "no lesson 'nobody'" in said(unknown)
    assert as_json.exit_code == 0 and '"answerType"' in as_json.output
    assert model.tasks("cli-ring")["lesson-rewrite"] == 6
    assert tokens == [(provider.input_tokens, provider.output_tokens)] * 2
