"""Courses through the broker into Postgres: every course agent and the projector in this
process as the platform assembles them, the llm strategy through the real anthropic SDK
on the fake server; POST /v1/courses (with and without ``?wait=``), GET the course and
its candidates; the 422 needs_attention body from a model scoring low; one candidate
timing out and K-1 still selecting; identical candidates recorded as too similar; the
single path (USE_CANDIDATES=0) with its improvement attempt; the candidate worker asking
for a model call per candidate it takes at once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import structlog
from structlog.testing import capture_logs

from events.courses import SCORE_WEIGHTS, CourseDraft, CourseSpec, Diversity
from projections.db import make_engine
from services.bootstrap import bootstrap
from services.courses import logs
from services.courses.rules import CandidateTask, rules_course
from services.courses.settings import CourseSettings, gateway_settings, serialised_by
from services.courses.simulated import GOOD_REVIEW
from services.generation import Gateway
from services.generation.anthropic_provider import AnthropicProvider
from services.generation.contract import Completion, Provider, Reply
from services.generation.settings import GenerationSettings
from services.settings import Settings
from tests.support.courses import api_client, bank, course_agents, finished_course
from tools.fakellm import FakeLLM, data_of
from tools.fakellm.simulated import simulated_model

pytestmark = pytest.mark.integration

Answer = Callable[[dict[str, Any]], str]
SEED_SUMMARY = {
    "method",
    "candidate_count",
    "selected_index",
    "selected_score",
    "min_viable_score",
    "total_tokens",
    "latency_ms",
}
INDEX = {"formal_academic": 0, "conversational": 1, "visual_story": 2}


# Models on the fake server, each a function of the request body -------------------------------
def is_review(body: dict[str, Any]) -> bool:
    return "candidate" in data_of(body)


def calls(model: FakeLLM) -> Counter[str]:
    return Counter("review" if is_review(b) else "candidate" for b in model.requests)


# Review scores chosen so that the totals are the seed's example: 0.35, 0.38, 0.32.
LOW_REVIEWS = {"Bad 0": 1 / 3, "Bad 1": 8 / 15, "Bad 2": 2 / 15}


def low_scores(body: dict[str, Any]) -> str:
    """Courses with no placeholder and an unknown mode, reviewed low: every score < 0.40."""
    data = data_of(body)
    if "candidate" in data:
        r = LOW_REVIEWS[data["candidate"]["title"]]
        return orjson.dumps({"clarity": r, "age_fit": r, "correctness": r, "notes": []}).decode()
    index = INDEX[data["constraint"]["approach"]]
    items = [{"text": "Paris", "mode": "essay"}, {"text": "Rome", "mode": "essay"}]
    return orjson.dumps(
        {"title": f"Bad {index}", "groups": [{"title": "G", "items": items}]}
    ).decode()


def identical(body: dict[str, Any]) -> str:
    """The same course whatever the constraint (a model ignoring its diversity prompt)."""
    data = data_of(body)
    if "candidate" in data:
        return orjson.dumps(GOOD_REVIEW).decode()
    spec = CourseSpec.model_validate(data["request"])
    d = Diversity(approach="formal_academic", temperature=0.2, seed=7)
    return rules_course(CandidateTask(spec, d, bank())).model_dump_json()


def wrong_first(body: dict[str, Any]) -> str:
    """A good course with its first answer wrong, right when asked to improve."""
    course = orjson.loads(simulated_model(body))
    if is_review(body) or "improve" in data_of(body):
        return orjson.dumps(course).decode()
    item = course["groups"][0]["items"][0]
    if item["mode"] == "numeric":
        item["answer"] = str(int(item["answer"]) + 1)
    else:
        item["correct_index"] = (item["correct_index"] + 1) % len(item["options"])
    return orjson.dumps(course).decode()


class HangsOn:
    """A provider whose candidate calls for one approach hang (a stuck model); every other
    call goes to ``inner``."""

    def __init__(self, inner: Provider, approach: str) -> None:
        self.inner, self.approach = inner, approach

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    async def complete(self, call: Completion) -> Reply:
        if (
            call.task == "course-candidate"
            and f'"approach":"{self.approach}"' in call.turns[0].text
        ):
            await asyncio.sleep(600)
        return await self.inner.complete(call)

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextmanager
def served(answer: Answer) -> Iterator[tuple[FakeLLM, Gateway]]:
    """The fake server answering with ``answer``, and a gateway over it."""
    with FakeLLM("anthropic", responder=answer) as model:
        provider = AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=model.url)
        yield model, Gateway([provider])


@pytest.fixture
def good() -> Iterator[tuple[FakeLLM, Gateway]]:
    with served(simulated_model) as pair:
        yield pair


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    """The log lines of ``services.courses.logs``, at every level (loggers cache their
    configuration on first use: a fresh one made inside the capture logs into it)."""
    wrapper = structlog.get_config()["wrapper_class"]
    with capture_logs() as captured:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
        monkeypatch.setattr(logs, "log", structlog.get_logger(logs.__name__))
        try:
            yield captured
        finally:
            structlog.configure(wrapper_class=wrapper)


def course_settings(settings: Settings, **values: Any) -> Settings:
    return settings.with_section(CourseSettings, **values)


# The tests --------------------------------------------------------------------------------------
async def test_a_course_through_the_broker_and_the_api(
    settings: Settings,
    good: tuple[FakeLLM, Gateway],
    monkeypatch: pytest.MonkeyPatch,
    logged: list[MutableMapping[str, Any]],
) -> None:
    model, gateway = good
    # The seed's flags under their own names: the candidate path with K = 3.
    monkeypatch.setenv("USE_CANDIDATES", "1")
    monkeypatch.setenv("CANDIDATE_COUNT", "3")
    engine = make_engine(settings)
    try:
        async with course_agents(settings, gateway), api_client(settings) as api:
            waited = await api.post(
                "/v1/courses", params={"wait": 60}, json={"subject": "math", "grade": 4}
            )
            assert waited.status_code == 200, waited.text
            body = waited.json()
            course_id = uuid.UUID(body["course_id"])
            view = (await api.get(f"/v1/courses/{course_id}")).json()
            candidates = (await api.get(f"/v1/courses/{course_id}/candidates")).json()
            llm_calls = calls(model)

            accepted = await api.post(
                "/v1/courses",
                json={"subject": "ccna", "grade": 10, "topic": "routing", "strategy": "rules"},
            )
            assert accepted.status_code == 202, accepted.text
            assert accepted.json()["status"] == "GENERATING"
            later = uuid.UUID(accepted.json()["course_id"])
            rules_view, rules_candidates = await finished_course(engine, later)

            refused = await api.post("/v1/courses", json={"subject": "math", "grade": 13})
            unknown = await api.get(f"/v1/courses/{uuid.uuid4()}")
            unknown_candidates = await api.get(f"/v1/courses/{uuid.uuid4()}/candidates")
    finally:
        await engine.dispose()

    # ?wait= answers the course as selected, with the seed's job summary.
    assert set(body) == {"course_id", "status", "course", "valid", "summary", "issues", "warnings"}
    assert body["status"] == "SELECTED" and body["valid"] is True
    summary = body["summary"]
    assert set(summary) == SEED_SUMMARY
    assert summary["method"] == "candidates" and summary["candidate_count"] == 3
    assert summary["selected_index"] in (0, 1, 2) and summary["selected_score"] >= 0.60
    assert summary["min_viable_score"] == 0.40 and summary["total_tokens"] > 0
    assert summary["latency_ms"] > 0
    course = CourseDraft.model_validate(body["course"]).course(CourseSpec(subject="math", grade=4))
    assert len(course.groups) == 3 and all(len(g.items) == 5 for g in course.groups)
    # No per-item repair: exactly K generations and K reviews reached the model.
    assert llm_calls == Counter({"candidate": 3, "review": 3})

    assert view["status"] == "SELECTED" and view["summary"] == summary
    assert view["course"] == body["course"] and view["finished_at"] is not None
    assert [c["candidate_index"] for c in candidates] == [0, 1, 2]
    assert [c["approach"] for c in candidates] == list(INDEX)
    assert [c["temperature"] for c in candidates] == [0.2, 0.3, 0.4]
    assert len({c["seed"] for c in candidates}) == 3
    assert {c["strategy"] for c in candidates} == {"llm"}
    statuses = {c["candidate_index"]: c["status"] for c in candidates}
    chosen = summary["selected_index"]
    assert statuses == {i: "SELECTED" if i == chosen else "SCORED" for i in range(3)}
    assert round(candidates[chosen]["score"], 4) == summary["selected_score"]
    assert all(set(c["breakdown"]) == set(SCORE_WEIGHTS) for c in candidates)
    assert all(c["similarity"] is not None and c["tokens"] > 0 for c in candidates)

    # Without ?wait= the course is accepted (202) and finishes on its own: the rules here.
    assert rules_view.status == "SELECTED" and rules_view.summary.candidate_count == 3
    assert {c.strategy for c in rules_candidates} == {"rules"}
    assert refused.status_code == 422 and "grade" in refused.text
    assert unknown.status_code == 404 and unknown_candidates.status_code == 404

    # The seed's log lines, by name, with their fields, once for the course.
    mine = [e for e in logged if e.get("course_id") == str(course_id)]
    named = {e["event"]: e for e in mine if e["event"] in logs.SEED_LINES}
    assert sorted(named) == sorted([logs.GENERATING, logs.COMPLETED, logs.SCORES, logs.SELECTED])
    assert [e["event"] for e in mine].count(logs.SELECTED) == 1
    assert named[logs.GENERATING]["k"] == 3 and named[logs.GENERATING]["subject"] == "math"
    assert named[logs.COMPLETED]["succeeded"] == 3 and named[logs.COMPLETED]["avg_tokens"] > 0
    assert len(named[logs.SCORES]["scores"]) == 3
    assert named[logs.SELECTED]["index"] == chosen


async def test_low_scores_answer_the_seeds_422_and_repair_nothing(settings: Settings) -> None:
    request = {
        "subject": "geography",
        "grade": 4,
        "groups": 1,
        "items_per_group": 2,
        "candidate_count": 3,
        "strategy": "llm",
    }
    with served(low_scores) as (model, gateway):
        async with course_agents(settings, gateway), api_client(settings) as api:
            answered = await api.post("/v1/courses", params={"wait": 60}, json=request)
            where = answered.headers["Location"]
            view = (await api.get(where)).json()
            candidates = (await api.get(f"{where}/candidates")).json()
        llm_calls = calls(model)
    assert answered.status_code == 422, answered.text
    assert answered.json() == {
        "error": "candidate_scores_too_low",
        "code": "needs_attention",
        "details": {
            "maxScore": 0.38,
            "minViableScore": 0.40,
            "candidateCount": 3,
            "scores": [0.35, 0.38, 0.32],
        },
    }
    # Fail fast: the K generations and K reviews, no repair, no retry.
    assert llm_calls == Counter({"candidate": 3, "review": 3})
    assert view["status"] == "NEEDS_ATTENTION" and view["error"] == "candidate_scores_too_low"
    assert view["details"] == answered.json() and view["course"] is None
    assert view["summary"]["selected_index"] is None and view["summary"]["candidate_count"] == 3
    assert [(c["candidate_index"], c["status"]) for c in candidates] == [
        (0, "SCORED"),
        (1, "SCORED"),
        (2, "SCORED"),
    ]
    assert [round(c["score"], 2) for c in candidates] == [0.35, 0.38, 0.32]
    # Every deduction names the item and the check.
    issues = {i for c in candidates for i in c["issues"]}
    assert "g1.i1: placeholders: needs exactly one placeholder ([blank] or _), found 0" in issues
    assert "g1.i2: schema: mode 'essay' is not options or numeric" in issues


async def test_a_candidate_timing_out_leaves_k_minus_1_to_select(settings: Settings) -> None:
    slow = course_settings(settings, course_candidate_timeout_s=2.0)
    engine = make_engine(settings)
    try:
        with FakeLLM("anthropic", responder=simulated_model) as model:
            inner = AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=model.url)
            gateway = Gateway([HangsOn(inner, "conversational")], timeout_s=30.0)
            async with course_agents(slow, gateway), api_client(slow) as api:
                answered = await api.post(
                    "/v1/courses",
                    params={"wait": 60},
                    json={"subject": "math", "grade": 2, "candidate_count": 3, "strategy": "llm"},
                )
                where = answered.headers["Location"]
                view, candidates = await finished_course(engine, uuid.UUID(where.split("/")[-1]))
            llm_calls = calls(model)
    finally:
        await engine.dispose()
    assert answered.status_code == 200, answered.text
    assert view.status == "SELECTED" and view.summary.selected_index in (0, 2)
    assert view.summary.candidate_count == 3 and (view.summary.selected_score or 0) >= 0.60
    by_index = {c.candidate_index: c for c in candidates}
    assert by_index[1].status == "FAILED" and by_index[1].score is None
    assert by_index[1].error == "generation timeout: no candidate within 2s"
    assert {by_index[0].status, by_index[2].status} == {"SELECTED", "SCORED"}
    assert "candidate 1 failed: generation timeout: no candidate within 2s" in view.warnings
    # The hung call never reached the server; the two others were generated and reviewed.
    assert llm_calls == Counter({"candidate": 2, "review": 2})


async def test_identical_candidates_are_recorded_as_too_similar(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        with served(identical) as (_, gateway):
            async with course_agents(settings, gateway), api_client(settings) as api:
                answered = await api.post(
                    "/v1/courses",
                    params={"wait": 60},
                    json={"subject": "math", "grade": 3, "candidate_count": 3, "strategy": "llm"},
                )
                course_id = uuid.UUID(answered.json()["course_id"])
                view, candidates = await finished_course(engine, course_id)
    finally:
        await engine.dispose()
    assert answered.status_code == 200, answered.text
    assert view.status == "SELECTED" and view.summary.selected_index == 0  # ties: lowest index
    assert [w for w in view.warnings if w.startswith(logs.TOO_SIMILAR)] == [
        f"{logs.TOO_SIMILAR}: 0 and 1 (cosine 1.00)",
        f"{logs.TOO_SIMILAR}: 0 and 2 (cosine 1.00)",
        f"{logs.TOO_SIMILAR}: 1 and 2 (cosine 1.00)",
    ]
    assert answered.json()["warnings"] == view.warnings
    assert [c.similarity for c in candidates] == [1.0, 1.0, 1.0]


async def test_use_candidates_0_takes_the_single_path_with_an_improvement(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USE_CANDIDATES", "0")
    monkeypatch.setenv("QUALITY_RETRY_LIMIT", "1")
    engine = make_engine(settings)
    try:
        with served(wrong_first) as (model, gateway):
            async with course_agents(settings, gateway), api_client(settings) as api:
                answered = await api.post(
                    "/v1/courses",
                    params={"wait": 60},
                    json={"subject": "math", "grade": 2, "strategy": "llm"},
                )
                course_id = uuid.UUID(answered.json()["course_id"])
                view, candidates = await finished_course(engine, course_id)
            llm_calls = calls(model)
            improve = [data_of(b)["improve"] for b in model.requests if "improve" in data_of(b)]
    finally:
        await engine.dispose()
    assert answered.status_code == 200, answered.text
    assert view.summary.method == "single" and view.summary.candidate_count == 1
    assert [(c.candidate_index, c.attempt, c.status) for c in candidates] == [
        (0, 0, "SCORED"),
        (0, 1, "SELECTED"),
    ]
    first, second = candidates
    assert second.score is not None and first.score is not None and second.score > first.score
    assert any(i.startswith("g1.i1: consistency.math: ") for i in first.issues)
    # One improvement attempt, guided by the failed checks (QUALITY_RETRY_LIMIT=1).
    assert llm_calls == Counter({"candidate": 2, "review": 2})
    (attempt,) = improve
    assert attempt["attempt"] == 1 and attempt["previous"]["groups"]
    assert any(c.startswith("g1.i1: consistency.math: ") for c in attempt["failed_checks"])


async def test_the_family_asks_for_a_model_call_per_candidate_in_flight(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's default (4 calls in flight) would make the fifth candidate of K = 5
    wait; the candidate worker asks for NLS_COURSE_CONCURRENCY calls unless
    NLS_LLM_CONCURRENCY is set, and says so when that setting serialises candidates."""
    unset = GenerationSettings(anthropic_api_key="k", anthropic_base_url="http://127.0.0.1:9")
    courses = CourseSettings(candidate_count=5)
    assert unset.concurrency == 4 and courses.course_concurrency == 10
    assert gateway_settings(unset, courses).concurrency == 10
    assert serialised_by(gateway_settings(unset, courses), courses) is None
    monkeypatch.setenv("NLS_LLM_CONCURRENCY", "2")
    explicit = GenerationSettings(anthropic_api_key="k", anthropic_base_url="http://127.0.0.1:9")
    assert gateway_settings(explicit, courses).concurrency == 2
    assert serialised_by(explicit, courses) == "NLS_LLM_CONCURRENCY=2 is below CANDIDATE_COUNT=5"

    said: dict[str, list[Any]] = {}
    for name, generation in (("unset", unset), ("explicit", explicit)):
        platform = bootstrap(
            settings.model_copy(update={"generation": generation}).with_section(
                CourseSettings, candidate_count=5
            )
        )
        with capture_logs() as captured:
            async with platform.deps() as deps:
                worker = platform.agent("course-candidates").build(deps)
                assert worker.concurrency == 10  # candidates the faust agent takes at once
        said[name] = [e for e in captured if e["event"] == "courses.candidates_partly_serial"]
    assert said["unset"] == []
    (warning,) = said["explicit"]
    assert warning["reason"] == "NLS_LLM_CONCURRENCY=2 is below CANDIDATE_COUNT=5"
