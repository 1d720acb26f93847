"""The llm strategy end to end in one process: the real gateway (prompts, validation,
re-asks, usage) over a simulated model that answers the lesson tasks."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from events.lessons import (
    LessonCompleted,
    LessonPhase,
    LessonPhaseCompleted,
    LessonRefined,
    PhaseStatus,
    RefinementOutcome,
)
from services.generation import Gateway
from services.generation.prompts import load_prompt
from services.lessons.local import LocalPipeline
from services.lessons.phases import FAMILIES
from services.lessons.settings import LessonSettings
from services.lessons.simulated import SimulatedLessonProvider
from tests.support.lessons import brief

pytestmark = pytest.mark.unit

TASKS = [
    "lesson-planning",
    "lesson-vocabulary",
    "lesson-explanation",
    "lesson-understanding-checks",
    "lesson-worked-example",
    "lesson-practice",
    "lesson-integration",
    "lesson-spaced-review",
    "lesson-assembler",
    "lesson-scoring",
    "lesson-rewrite",
]


def test_every_lesson_task_has_its_prompt_file_at_version_1() -> None:
    for task in TASKS:
        prompt = load_prompt(task)
        assert prompt.ref == f"{task}@v1" and len(prompt.text.splitlines()) >= 5
    assert {f.task for f in FAMILIES.values()} == set(TASKS) - {"lesson-scoring", "lesson-rewrite"}


def _phases(pipeline: LocalPipeline) -> dict[LessonPhase, LessonPhaseCompleted]:
    return {p.phase: p for p in pipeline.log.payloads(LessonPhaseCompleted)}


def test_every_phase_is_made_by_the_model_and_accounted() -> None:
    provider = SimulatedLessonProvider()
    pipeline = LocalPipeline(Gateway([provider]))
    request = brief("cg2365", "ohms-law", strategy="llm", prerequisites=("electrical-power",))
    done = asyncio.run(pipeline.generate(request)).payload_as(LessonCompleted)
    phases = _phases(pipeline)
    for phase in (p for p in LessonPhase if p is not LessonPhase.REWRITE):
        usage = phases[phase].usage
        assert usage is not None and usage.strategy == "llm", phase
        assert usage.prompt_version == f"lesson-{phase.value.replace('_', '-')}@v1"
        assert usage.provider == "anthropic" and usage.input_tokens > 0
    assert all(n == 1 for n in provider.calls.values())
    assert done.score >= 97 and phases[LessonPhase.REWRITE].status is PhaseStatus.SKIPPED


def test_a_phase_whose_model_answer_is_broken_falls_back_to_its_rules_and_says_so() -> None:
    provider = SimulatedLessonProvider(broken_tasks=frozenset({"lesson-practice"}))
    pipeline = LocalPipeline(Gateway([provider], reasks=1))
    asyncio.run(pipeline.generate(brief("ccna", "ospf", strategy="llm")))
    usage = _phases(pipeline)[LessonPhase.PRACTICE].usage
    assert usage is not None and usage.strategy == "rules_fallback"
    assert usage.fallback_from == "llm" and "malformed_json" in (usage.fallback_reason or "")
    assert provider.calls["lesson-practice"] == 2  # the answer and its re-ask


def test_an_llm_rewrite_that_is_garbage_leaves_the_lesson_as_it_was() -> None:
    provider = SimulatedLessonProvider(rewrites="garbage")
    settings = LessonSettings(refinement={"scoreThreshold": 100})
    pipeline = LocalPipeline(Gateway([provider]), settings=settings)
    done = asyncio.run(
        pipeline.generate(brief("cg2365", "final-circuits", strategy="llm"))
    ).payload_as(LessonCompleted)
    (refined,) = [e.payload_as(LessonRefined) for e in pipeline.log.of(LessonRefined)]
    assert refined.outcome is RefinementOutcome.REJECTED_PARSE
    assert "malformed_json" in refined.reason
    assert done.version == 1 and not done.refined and done.score == refined.original_score


def test_every_schema_a_lesson_task_sends_is_one_the_anthropic_sdk_accepts() -> None:
    # The SDK makes strict schemas (declared properties only): a free-form field would
    # let a model answer only {}. Each task's schema must say the whole shape.
    from anthropic.lib._parse._transform import transform_schema

    from services.lessons.phases import OUTPUT_MODELS
    from services.lessons.phases.models import AssemblyNotes
    from services.lessons.refine.rewrite import RewrittenLesson
    from services.lessons.scoring.llm import LlmScore

    models: list[type[BaseModel]] = [RewrittenLesson, LlmScore, AssemblyNotes]
    for model in [*models, *OUTPUT_MODELS.values()]:
        strict = transform_schema(model.model_json_schema())
        assert strict["type"] == "object" and strict["properties"], model.__name__
    lesson = RewrittenLesson.model_json_schema()["properties"]["lesson"]
    assert "$ref" in lesson  # the contract's lesson, not a bare object
