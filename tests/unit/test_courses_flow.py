"""The seed's tests, each its own, through the agents and the fan-in (in process, no
broker): selection, exactly K generations and K reviews, the short-circuit's 422 body,
failed and timed-out candidates, similar candidates, the deadline, and the single
path's improvement attempts."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from events import Envelope
from events.courses import (
    CandidateScored,
    CourseCandidateFailed,
    CourseCandidateGenerated,
    CourseCandidateRequested,
    CourseNeedsAttention,
    CourseSelected,
    CourseSpec,
    Diversity,
    PedagogicalApproach,
)
from services.bus.consumer import Delivery
from services.courses.agents import CandidateGenerator, CourseOrchestrator
from services.courses.rules import CandidateTask, rules_course
from services.generation import Gateway, ProviderTimeout
from services.generation.contract import Completion, Reply
from services.generation.memory import ScriptedProvider
from services.generation.prompts import load_prompt
from tests.support.courses import (
    GOOD_REVIEW,
    bank,
    course_request,
    data_of_call,
    good_model,
    llm_gateway,
    run_course,
    settings,
)

pytestmark = pytest.mark.unit

HERE = Delivery("t.courses", 0, 0, None, b"", ())
INDEX = {a.value: i for i, a in enumerate(PedagogicalApproach)}


def tasks(provider: ScriptedProvider) -> list[str]:
    return [c.task for c in provider.calls]


async def test_candidate_selection_succeeds_with_a_score_of_at_least_0_60() -> None:
    run = await run_course(course_request(subject="math", grade=3, candidate_count=3))
    selected = run.outcome.payload_as(CourseSelected)
    assert selected.selected_score >= 0.60 and selected.valid
    assert selected.summary.method == "candidates" and selected.summary.candidate_count == 3
    assert len(run.of_type(CandidateScored.event_type)) == 3


async def test_the_llm_path_selects_too() -> None:
    gateway, _ = llm_gateway(responder=good_model)
    run = await run_course(
        course_request(subject="ccna", grade=10, candidate_count=3, strategy="llm"),
        gateway=gateway,
    )
    selected = run.outcome.payload_as(CourseSelected)
    assert selected.selected_score >= 0.60
    generated = [
        e.payload_as(CourseCandidateGenerated)
        for e in run.of_type(CourseCandidateGenerated.event_type)
    ]
    assert {g.usage.strategy for g in generated} == {"llm"}
    assert {g.usage.prompt_version for g in generated} == {"course-candidate@v1"}
    scored = [e.payload_as(CandidateScored) for e in run.of_type(CandidateScored.event_type)]
    assert {s.usage.prompt_version for s in scored if s.usage} == {"course-review@v1"}
    assert {s.usage.family for s in scored if s.usage} == {"courses"}
    assert selected.summary.total_tokens == sum(
        s.generation_tokens + s.usage.input_tokens + s.usage.output_tokens
        for s in scored
        if s.usage
    )


def test_the_prompts_are_versioned_files() -> None:
    assert load_prompt("course-candidate").ref == "course-candidate@v1"
    assert load_prompt("course-review").ref == "course-review@v1"
    assert "[blank]" in load_prompt("course-candidate").text


@pytest.mark.parametrize("k", [1, 3, 5])
async def test_no_per_item_repair_exactly_k_generations_and_k_reviews(k: int) -> None:
    gateway, provider = llm_gateway(responder=good_model)
    run = await run_course(
        course_request(subject="math", grade=5, candidate_count=k, strategy="llm"),
        gateway=gateway,
        quality_retry_limit=3,  # the candidate path ignores it
    )
    assert sorted(tasks(provider)) == ["course-candidate"] * k + ["course-review"] * k
    assert run.outcome.event_type == CourseSelected.event_type
    requests = run.of_type(CourseCandidateRequested.event_type)
    assert len(requests) == k  # no improvement attempt was asked for
    temperatures = sorted(c.temperature for c in provider.calls if c.task == "course-candidate")
    assert temperatures == [round(0.2 + 0.1 * i, 2) for i in range(k)]
    assert len({c.seed for c in provider.calls if c.task == "course-candidate"}) == k


def _bad_course(call: Completion) -> str:
    index = INDEX[data_of_call(call)["constraint"]["approach"]]
    items = [{"text": "Paris", "mode": "essay"}, {"text": "Rome", "mode": "essay"}]
    return orjson.dumps(
        {"title": f"Bad {index}", "groups": [{"title": "G", "items": items}]}
    ).decode()


# Review scores chosen so that the totals are the seed's example: 0.35, 0.38, 0.32.
_LOW_REVIEWS = {"Bad 0": 1 / 3, "Bad 1": 8 / 15, "Bad 2": 2 / 15}


def _low_model(call: Completion) -> str:
    if call.task == "course-review":
        r = _LOW_REVIEWS[data_of_call(call)["candidate"]["title"]]
        return orjson.dumps({"clarity": r, "age_fit": r, "correctness": r, "notes": []}).decode()
    return _bad_course(call)


async def test_short_circuit_on_low_scores_gives_the_seeds_422_body() -> None:
    gateway, provider = llm_gateway(responder=_low_model)
    run = await run_course(
        course_request(
            subject="geography",
            grade=4,
            groups=1,
            items_per_group=2,
            candidate_count=3,
            strategy="llm",
        ),
        gateway=gateway,
    )
    attention = run.outcome.payload_as(CourseNeedsAttention)
    assert attention.body() == {
        "error": "candidate_scores_too_low",
        "code": "needs_attention",
        "details": {
            "maxScore": 0.38,
            "minViableScore": 0.40,
            "candidateCount": 3,
            "scores": [0.35, 0.38, 0.32],
        },
    }
    # Fail fast: no repair, no retry; the K generations and K reviews and nothing else.
    assert sorted(tasks(provider)) == ["course-candidate"] * 3 + ["course-review"] * 3
    scored = [e.payload_as(CandidateScored) for e in run.of_type(CandidateScored.event_type)]
    issues = {i for s in scored for i in s.issues}
    assert "g1.i1: placeholders: needs exactly one placeholder ([blank] or _), found 0" in issues
    assert "g1.i2: schema: mode 'essay' is not options or numeric" in issues
    assert attention.summary.selected_index is None


def _one_fails(call: Completion) -> str:
    data = data_of_call(call)
    if call.task == "course-candidate" and data["constraint"]["approach"] == "conversational":
        raise ProviderTimeout("no answer within 30s", task=call.task, provider="scripted")
    return good_model(call)


async def test_a_failed_candidate_leaves_k_minus_1_to_select() -> None:
    gateway, _ = llm_gateway(responder=_one_fails)
    run = await run_course(
        course_request(subject="math", grade=4, candidate_count=3, strategy="llm"),
        gateway=gateway,
        course_llm_fallback=False,
    )
    failed = [e.payload_as(CourseCandidateFailed) for e in run.of_type("course-candidate-failed")]
    assert [(f.candidate_index, f.stage, f.reason) for f in failed] == [
        (1, "generation", "timeout")
    ]
    selected = run.outcome.payload_as(CourseSelected)
    assert selected.selected_index in (0, 2) and selected.selected_score >= 0.6
    assert any(w.startswith("candidate 1 failed: generation timeout") for w in selected.warnings)


async def test_an_llm_failure_falls_back_to_rules_for_that_candidate_only() -> None:
    gateway, _ = llm_gateway(responder=_one_fails)
    run = await run_course(
        course_request(subject="math", grade=4, candidate_count=3, strategy="llm"),
        gateway=gateway,
    )
    usage = {
        e.payload.plan.candidate_index: e.payload.usage  # type: ignore[attr-defined]
        for e in run.of_type(CourseCandidateGenerated.event_type)
    }
    assert usage[1].strategy == "rules_fallback" and usage[1].fallback_from == "llm"
    assert usage[1].fallback_reason and usage[1].fallback_reason.startswith("timeout")
    assert usage[0].strategy == usage[2].strategy == "llm"
    assert run.outcome.event_type == CourseSelected.event_type


class SlowFor(ScriptedProvider):
    """Answers like ``good_model``, but slowly for one approach."""

    def __init__(self, slow: str, delay_s: float) -> None:
        super().__init__()
        self.slow, self.delay = slow, delay_s
        self.then(*([good_model] * 50))

    async def complete(self, call: Completion) -> Reply:
        candidate = call.task == "course-candidate"
        if candidate and data_of_call(call)["constraint"]["approach"] == self.slow:
            await asyncio.sleep(self.delay)
        return await super().complete(call)


async def test_one_candidate_timing_out_is_recorded_and_the_others_proceed() -> None:
    provider = SlowFor("visual_story", 5.0)
    run = await run_course(
        course_request(subject="math", grade=2, candidate_count=3, strategy="llm"),
        gateway=Gateway([provider], timeout_s=30.0),
        course_candidate_timeout_s=0.3,
    )
    failed = [e.payload_as(CourseCandidateFailed) for e in run.of_type("course-candidate-failed")]
    assert [(f.candidate_index, f.reason) for f in failed] == [(2, "timeout")]
    assert "no candidate within 0.3s" in failed[0].error
    assert run.outcome.payload_as(CourseSelected).selected_index in (0, 1)


def _same_course(call: Completion) -> str:
    if call.task == "course-review":
        return orjson.dumps(GOOD_REVIEW).decode()
    spec = CourseSpec.model_validate(data_of_call(call)["request"])
    d = Diversity(approach=PedagogicalApproach.FORMAL_ACADEMIC, temperature=0.2, seed=7)
    return rules_course(CandidateTask(spec, d, bank())).model_dump_json()


async def test_identical_candidates_raise_the_similarity_warning() -> None:
    gateway, _ = llm_gateway(responder=_same_course)
    run = await run_course(
        course_request(subject="math", grade=3, candidate_count=3, strategy="llm"), gateway=gateway
    )
    selected = run.outcome.payload_as(CourseSelected)
    assert {(p.a, p.b, p.cosine) for p in selected.similarity} == {
        (0, 1, 1.0),
        (0, 2, 1.0),
        (1, 2, 1.0),
    }
    assert "Candidates too similar: 0 and 1 (cosine 1.00)" in selected.warnings
    assert selected.selected_index == 0  # equal scores: the lowest index


async def test_distinct_candidates_raise_no_similarity_warning() -> None:
    run = await run_course(course_request(subject="ccna", grade=11, candidate_count=3))
    selected = run.outcome.payload_as(CourseSelected)
    assert all(p.cosine <= 0.85 for p in selected.similarity) and len(selected.similarity) == 3
    assert not any("too similar" in w for w in selected.warnings)


async def test_a_lost_candidate_is_waited_for_until_the_deadline() -> None:
    def lose_third(e: Envelope) -> bool:
        return (
            isinstance(e.payload, CourseCandidateGenerated) and e.payload.plan.candidate_index == 2
        )

    run = await run_course(
        course_request(subject="math", grade=5, candidate_count=3), drop=lose_third
    )
    assert run.events[-2].event_type == "saga-deadline-reached"
    selected = run.outcome.payload_as(CourseSelected)
    assert "candidates [2] did not report by the deadline" in selected.warnings
    assert len(run.of_type(CandidateScored.event_type)) == 2


def _wrong_first(call: Completion) -> str:
    if call.task == "course-review":
        return orjson.dumps(GOOD_REVIEW).decode()
    course = orjson.loads(good_model(call))
    if "improve" not in data_of_call(call):
        item = course["groups"][0]["items"][0]
        if item["mode"] == "numeric":
            item["answer"] = str(int(item["answer"]) + 1)
        else:
            item["correct_index"] = (item["correct_index"] + 1) % len(item["options"])
    return orjson.dumps(course).decode()


async def test_the_single_path_improves_guided_by_its_failed_checks() -> None:
    gateway, provider = llm_gateway(responder=_wrong_first)
    run = await run_course(
        course_request(subject="math", grade=2, strategy="llm"),
        gateway=gateway,
        use_candidates=False,
        quality_retry_limit=2,
    )
    assert tasks(provider) == ["course-candidate", "course-review"] * 2
    retry = data_of_call(provider.calls[2])["improve"]
    assert retry["attempt"] == 1 and retry["previous"]["groups"]
    assert any(c.startswith("g1.i1: consistency.math: ") for c in retry["failed_checks"])
    scored = [e.payload_as(CandidateScored) for e in run.of_type(CandidateScored.event_type)]
    assert [(s.attempt, s.final) for s in scored] == [(0, False), (1, True)]
    selected = run.outcome.payload_as(CourseSelected)
    assert selected.attempt == 1 and selected.summary.method == "single"
    assert selected.selected_score > scored[0].score


async def test_the_single_path_stops_at_quality_retry_limit() -> None:
    gateway, provider = llm_gateway(responder=_low_model)
    run = await run_course(
        course_request(subject="x", grade=2, groups=1, items_per_group=2, strategy="llm"),
        gateway=gateway,
        use_candidates=False,
        quality_retry_limit=1,
    )
    assert tasks(provider).count("course-candidate") == 2  # the first and one improvement
    assert run.outcome.payload_as(CourseNeedsAttention).error == "candidate_scores_too_low"
    gateway, provider = llm_gateway(responder=_low_model)
    await run_course(
        course_request(subject="x", grade=2, groups=1, items_per_group=2, strategy="llm"),
        gateway=gateway,
        use_candidates=False,
        quality_retry_limit=0,
    )
    assert tasks(provider).count("course-candidate") == 1


def _middling(call: Completion) -> str:
    if call.task == "course-review":
        return orjson.dumps({"clarity": 0.6, "age_fit": 0.6, "correctness": 0.6}).decode()
    course = orjson.loads(good_model(call))
    for group in course["groups"]:
        for item in group["items"]:
            item["text"] = item["text"].replace("[blank]", "")  # no placeholder
            if item["mode"] == "numeric":
                item["options"] = ["1", "2", "3"]  # a numeric item with options
            else:
                item["correct_index"] = None  # options without a key
    # schema 1, placeholders 0, modes 0, consistency 1, review 0.6: 0.54
    return orjson.dumps(course).decode()


@pytest.mark.parametrize("skip", [False, True])
async def test_the_final_gate_and_skip_review(skip: bool) -> None:
    gateway, _ = llm_gateway(responder=_middling)
    run = await run_course(
        course_request(subject="math", grade=4, candidate_count=2, strategy="llm"),
        gateway=gateway,
        skip_review=skip,
    )
    if skip:
        selected = run.outcome.payload_as(CourseSelected)
        assert selected.review_skipped and 0.40 <= selected.selected_score < 0.60
        return
    attention = run.outcome.payload_as(CourseNeedsAttention)
    body = attention.body()
    assert body["error"] == "review_below_threshold" and body["code"] == "needs_attention"
    assert body["details"]["reviewThreshold"] == 0.60
    assert 0.40 <= body["details"]["reviewScore"] < 0.60


async def test_redelivered_requests_make_the_same_events() -> None:
    request = course_request(subject="math", grade=3, candidate_count=3)
    orchestrator = CourseOrchestrator(settings())
    first = await orchestrator.handle(request, HERE)
    again = await orchestrator.handle(request, HERE)
    assert [e.event_id for e in first] == [e.event_id for e in again]
    generator = CandidateGenerator(Gateway(), settings(), bank())
    made = await generator.handle(first[0], HERE)
    remade = await generator.handle(first[0], HERE)
    assert [e.event_id for e in made] == [e.event_id for e in remade]
    # the rules are deterministic
    assert made[0].payload.course == remade[0].payload.course  # type: ignore[attr-defined]


async def test_every_event_of_a_course_is_valid_and_keyed_by_the_course() -> None:
    run = await run_course(course_request(subject="ccna", grade=9, candidate_count=4))
    course_id = str(run.events[0].payload.course_id)  # type: ignore[attr-defined]
    assert {e.key for e in run.events} == {course_id}
    assert len({e.event_id for e in run.events}) == len(run.events)
    assert {e.correlation_id for e in run.events} == {run.events[0].event_id}


def test_use_candidates_forces_the_retry_limit_to_zero() -> None:
    assert settings(use_candidates=True, quality_retry_limit=3).quality_retry_limit == 0
    assert settings(use_candidates=False, quality_retry_limit=3).quality_retry_limit == 3
