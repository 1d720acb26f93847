"""The lesson pipeline saga: phases start as soon as what they read is done, a killed worker
resumes without repeating a completed phase, and the log rebuilds the lesson with no model."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from typing import Any

import pytest

from events import Envelope
from events.lessons import (
    LessonCompleted,
    LessonFailed,
    LessonImproveRequested,
    LessonPhase,
    LessonPhaseCompleted,
    LessonPhaseRequested,
    LessonRefined,
    LessonRewriteRequested,
    LessonScoringRequested,
    PhaseStatus,
    RefinementOutcome,
)
from services.bus.consumer import Delivery
from services.bus.memory import InMemoryPublisher
from services.generation import Gateway
from services.lessons.graph import PIPELINE, READS, critical_path, layers, ready
from services.lessons.local import LocalLog, LocalPipeline
from services.lessons.saga import LessonPipelineSaga, LessonState
from services.lessons.settings import LessonSettings
from services.lessons.simulated import SimulatedLessonProvider
from services.runtime.saga import InMemorySagaStore, SagaHandler
from tests.support.lessons import brief, run_rules

pytestmark = pytest.mark.unit
P = LessonPhase


def test_independent_phases_share_a_layer_and_phases_1_to_9_take_five_steps() -> None:
    assert layers() == [
        [P.PLANNING],
        [P.VOCABULARY, P.SPACED_REVIEW],
        [P.EXPLANATION, P.WORKED_EXAMPLE],
        [P.UNDERSTANDING_CHECKS, P.PRACTICE, P.INTEGRATION],
        [P.ASSEMBLER],
    ]
    assert critical_path() == 5 <= 6
    assert ready({P.PLANNING, P.VOCABULARY}, {P.SPACED_REVIEW}) == [
        P.EXPLANATION,
        P.WORKED_EXAMPLE,
    ]
    assert READS[P.ASSEMBLER] == frozenset(PIPELINE) - {P.ASSEMBLER}


class _Steps:
    """Feed events to the pure saga as the runtime does: decide, then evolve."""

    def __init__(self, settings: LessonSettings | None = None) -> None:
        self.saga = LessonPipelineSaga(settings)
        self.state: LessonState | None = None

    def __call__(self, event: Envelope) -> list[Envelope]:
        out = list(self.saga.decide(self.state, event))
        self.state = self.saga.evolve(self.state, event)
        return out


def _completed(request: Envelope, output: Any) -> Envelope:
    r = request.payload_as(LessonPhaseRequested)
    payload = LessonPhaseCompleted(
        lesson_id=r.lesson_id,
        phase=r.phase,
        status=PhaseStatus.COMPLETED,
        output=output.model_dump(mode="json", by_alias=True, exclude_none=True),
        duration_ms=5,
    )
    return request.derive(payload, role="completed", source="test")


def _phases(events: list[Envelope]) -> list[LessonPhase]:
    return [_req(e).phase for e in events if isinstance(e.payload, LessonPhaseRequested)]


def _req(e: Envelope) -> LessonPhaseRequested:
    return e.payload_as(LessonPhaseRequested)


@pytest.mark.parametrize("topic", ["ospf", "routing"])
def test_which_phases_become_ready_when(topic: str) -> None:
    request = brief("ccna", topic)
    outputs = run_rules(request)
    planned = outputs[P.PLANNING].needs_worked_example
    step = _Steps()
    out = step(Envelope.new(request, source="test"))
    assert _phases(out) == [P.PLANNING]
    asked = {P.PLANNING: out[0]}
    out = step(_completed(asked[P.PLANNING], outputs[P.PLANNING]))
    assert _phases(out) == [P.VOCABULARY, P.SPACED_REVIEW]
    asked |= {_req(e).phase: e for e in out}
    out = step(_completed(asked[P.SPACED_REVIEW], outputs[P.SPACED_REVIEW]))
    assert out == []  # nothing waits on spaced review but the assembler
    out = step(_completed(asked[P.VOCABULARY], outputs[P.VOCABULARY]))
    if planned:
        assert _phases(out) == [P.EXPLANATION, P.WORKED_EXAMPLE]
    else:
        assert _phases(out) == [P.EXPLANATION]
        (skip,) = [e for e in out if isinstance(e.payload, LessonPhaseCompleted)]
        assert skip.payload_as(LessonPhaseCompleted).status is PhaseStatus.SKIPPED
        assert skip.payload_as(LessonPhaseCompleted).skipped_reason == (
            "planning decided no worked example is needed"
        )
        assert step(skip) == []
    asked |= {_req(e).phase: e for e in out if isinstance(e.payload, LessonPhaseRequested)}
    # The requests carry exactly the outputs they read.
    assert set(_req(asked[P.EXPLANATION]).inputs) == {"planning", "vocabulary"}
    out = step(_completed(asked[P.EXPLANATION], outputs[P.EXPLANATION]))
    expected = [P.UNDERSTANDING_CHECKS, P.INTEGRATION] + ([] if planned else [P.PRACTICE])
    assert sorted(_phases(out)) == sorted(expected)
    asked |= {_req(e).phase: e for e in out}
    if planned:
        out = step(_completed(asked[P.WORKED_EXAMPLE], outputs[P.WORKED_EXAMPLE]))
        assert _phases(out) == [P.PRACTICE]
        asked |= {_req(e).phase: e for e in out}
    for phase in (P.UNDERSTANDING_CHECKS, P.PRACTICE):
        assert step(_completed(asked[phase], outputs[phase])) == []
    out = step(_completed(asked[P.INTEGRATION], outputs[P.INTEGRATION]))
    assert _phases(out) == [P.ASSEMBLER]
    assert set(_req(out[0]).inputs) == {p.value for p in PIPELINE if p is not P.ASSEMBLER} - (
        set() if planned else {"worked_example"}
    )
    out = step(_completed(out[0], outputs[P.ASSEMBLER]))
    (scoring,) = out
    assert isinstance(scoring.payload, LessonScoringRequested)
    assert (
        scoring.payload.lesson
        == outputs[P.ASSEMBLER].model_dump(mode="json", by_alias=True, exclude_none=True)["lesson"]
    )


def test_a_redelivered_completion_asks_for_nothing_again() -> None:
    request = brief("ccna", "ospf")
    outputs = run_rules(request)
    step = _Steps()
    (planning,) = step(Envelope.new(request, source="test"))
    done = _completed(planning, outputs[P.PLANNING])
    assert len(step(done)) == 2
    assert step(done) == []
    assert step(Envelope.new(request, source="test")) == []  # a repeated request too


def _pipeline(log: LocalLog | None = None, **kw: Any) -> tuple[LocalPipeline, Any]:
    provider = kw.pop("provider", None) or SimulatedLessonProvider(latency_s=0.01)
    settings = kw.pop("settings", None)
    return LocalPipeline(Gateway([provider]), settings=settings, log=log), provider


def test_a_killed_worker_resumes_without_repeating_a_completed_phase() -> None:
    request = brief("cg2365", "ohms-law", strategy="llm", prerequisites=("electrical-power",))
    # The explanation thinks longest: the kill finds it with the model.
    slow = SimulatedLessonProvider(latency_s=0.01, slow_tasks={"lesson-explanation": 0.3})
    pipeline, provider = _pipeline(provider=slow)

    async def until_kill() -> set[LessonPhase]:
        await pipeline.publish([Envelope.new(request, source="test")])

        def four_done(log: LocalLog) -> bool:
            return len(log.of(LessonPhaseCompleted)) >= 4

        await pipeline.drive(four_done)
        await pipeline.kill()
        return {p.phase for p in pipeline.log.payloads(LessonPhaseCompleted)}

    before = asyncio.run(until_kill())
    assert P.EXPLANATION not in before and provider.calls["lesson-explanation"] == 1
    assert {P.PLANNING, P.VOCABULARY, P.SPACED_REVIEW, P.WORKED_EXAMPLE} <= before
    calls_before = Counter(provider.calls)
    restarted, _ = _pipeline(log=pipeline.log, provider=provider)
    done = asyncio.run(restarted.finish(request.lesson_id))
    assert isinstance(done.payload, LessonCompleted)
    completions = Counter(p.phase for p in restarted.log.payloads(LessonPhaseCompleted))
    assert all(n == 1 for n in completions.values())
    for phase in before:
        task = f"lesson-{phase.value.replace('_', '-')}"
        assert provider.calls[task] == calls_before[task] <= 1, phase
    # Only the phase that was with the model at the kill is asked again.
    assert provider.calls["lesson-explanation"] == 2


def test_a_redelivered_request_whose_phase_completed_makes_no_model_call() -> None:
    request = brief("ccna", "ospf", strategy="llm")
    pipeline, provider = _pipeline()
    asyncio.run(pipeline.generate(request))
    calls = sum(provider.calls.values())
    # A crash after publishing the completion but before acknowledging the request.
    acked = pipeline.log.acked["lesson-phases"]
    acked.discard(pipeline.log.of(LessonPhaseRequested)[0].event_id)
    again, _ = _pipeline(log=pipeline.log, provider=provider)

    async def redeliver() -> None:
        await again.drive(lambda log: acked >= {e.event_id for e in log.of(LessonPhaseRequested)})

    asyncio.run(redeliver())
    assert sum(provider.calls.values()) == calls


def test_the_log_rebuilds_the_lesson_with_no_model_call() -> None:
    request = brief("cg2365", "final-circuits", strategy="llm")
    pipeline, provider = _pipeline()
    asyncio.run(pipeline.generate(request))
    calls = sum(provider.calls.values())
    live = pipeline.log.saga_store.get(request.lesson_id)
    assert live is not None and live.state is not None
    # A fresh saga over the whole log: every event it derives is already there.
    publisher = InMemoryPublisher()
    fresh = SagaHandler(LessonPipelineSaga(), InMemorySagaStore(LessonState), publisher)

    async def replay() -> None:
        for offset, event in enumerate(pipeline.log.events):
            if event.event_type in (fresh.event_types or ()):
                delivery = Delivery("t", 0, offset, None, None, (), event)
                await fresh.handle(event, delivery)

    asyncio.run(replay())
    assert {e.event_id for _, e in publisher.events} <= pipeline.log.ids
    rebuilt = fresh.store.get(request.lesson_id)
    assert rebuilt is not None and rebuilt.state == live.state
    assert sum(provider.calls.values()) == calls
    (assembled,) = [
        p for p in pipeline.log.payloads(LessonPhaseCompleted) if p.phase is P.ASSEMBLER
    ]
    state = rebuilt.state
    assert isinstance(state, LessonState)
    assert state.lesson == assembled.output["lesson"] or state.version > 1


def _better(lesson: dict[str, Any]) -> dict[str, Any]:
    """What a good rewrite does: accepted variants for every rigid long answer."""
    out = copy.deepcopy(lesson)
    for b in out["blocks"]:
        for q in b["content"].get("questions", []):
            if q["answerType"] == "short-text" and len(q["expectedAnswer"]) == 1:
                q["expectedAnswer"].append(q["expectedAnswer"][0].lower() + " (accepted)")
    return out


def test_below_the_threshold_one_rewrite_is_validated_scored_and_applied() -> None:
    request = brief("cg2365", "final-circuits", strategy="llm")
    settings = LessonSettings(refinement={"scoreThreshold": 100})
    provider = SimulatedLessonProvider(rewrites="damaged", damage=_better)
    pipeline, _ = _pipeline(provider=provider, settings=settings)
    done = asyncio.run(pipeline.generate(request)).payload_as(LessonCompleted)
    (refined,) = [e.payload_as(LessonRefined) for e in pipeline.log.of(LessonRefined)]
    assert refined.outcome is RefinementOutcome.ACCEPTED and refined.applied
    assert refined.version == done.version == 2 and done.refined
    assert refined.candidate_score == done.score > (refined.original_score or 0)
    assert provider.calls["lesson-scoring"] == 2 and provider.calls["lesson-rewrite"] == 1
    rewrite = [p for p in pipeline.log.payloads(LessonPhaseCompleted) if p.phase is P.REWRITE]
    assert rewrite[0].output["outcome"] == "accepted"


def test_a_damaged_rewrite_in_the_pipeline_keeps_the_original() -> None:
    request = brief("cg2365", "final-circuits", strategy="llm")
    settings = LessonSettings(refinement={"scoreThreshold": 100})

    def wipe(lesson: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(lesson)
        out["blocks"].pop()
        return out

    provider = SimulatedLessonProvider(rewrites="damaged", damage=wipe)
    pipeline, _ = _pipeline(provider=provider, settings=settings)
    done = asyncio.run(pipeline.generate(request)).payload_as(LessonCompleted)
    (refined,) = [e.payload_as(LessonRefined) for e in pipeline.log.of(LessonRefined)]
    assert refined.outcome is RefinementOutcome.REJECTED_VALIDATION
    assert any("block count changed" in f for f in refined.validation_failures)
    assert done.version == 1 and not done.refined and done.score == refined.original_score
    assert provider.calls["lesson-scoring"] == 1  # a rejected rewrite is never scored


@pytest.mark.parametrize(
    ("refinement", "why"),
    [
        ({"enabled": False}, "refinement is disabled"),
        ({"rewriteEnabled": False}, "rewrite is disabled"),
        ({"scoreThreshold": 50}, "at or above the threshold 50"),
    ],
)
def test_phase_10_is_skipped_with_its_reason(refinement: dict[str, Any], why: str) -> None:
    settings = LessonSettings(refinement=refinement)
    pipeline = LocalPipeline(Gateway(), settings=settings)
    done = asyncio.run(pipeline.generate(brief("ccna", "capwap"))).payload_as(LessonCompleted)
    (rewrite,) = [p for p in pipeline.log.payloads(LessonPhaseCompleted) if p.phase is P.REWRITE]
    assert rewrite.status is PhaseStatus.SKIPPED and why in (rewrite.skipped_reason or "")
    assert not pipeline.log.of(LessonRewriteRequested) and not done.refined


def test_improve_runs_phase_10_on_the_current_version_or_says_why_not() -> None:
    pipeline = LocalPipeline(Gateway())
    unknown = asyncio.run(pipeline.improve("nobody"))
    assert unknown.outcome is RefinementOutcome.FAILED and unknown.reason == "no such lesson"
    request = brief("cg2365", "ohms-law")
    asyncio.run(pipeline.generate(request))
    verdict = asyncio.run(pipeline.improve(request.lesson_id))
    assert verdict.outcome is RefinementOutcome.UNCHANGED
    assert verdict.original_score is not None
    asked = pipeline.log.of(LessonImproveRequested, request.lesson_id)
    assert [e.payload_as(LessonImproveRequested).request_id for e in asked] == [
        verdict.refinement_id
    ]


def test_a_lesson_not_finished_by_its_deadline_fails_naming_the_phase_it_waited_for() -> None:
    from services.runtime.saga import deadline_event

    settings = LessonSettings(deadline_s=60)
    request = brief("ccna", "ospf")
    outputs = run_rules(request)
    step = _Steps(settings)
    requested = Envelope.new(request, source="test")
    (planning,) = step(requested)
    step(_completed(planning, outputs[P.PLANNING]))
    assert step.state is not None
    (due,) = step.state.deadlines.values()
    assert (due - requested.occurred_at).total_seconds() == 60
    (failed,) = step(deadline_event(step.saga, step.state, "pipeline", due))
    assert failed.payload_as(LessonFailed).phase is P.VOCABULARY
    assert step.state.concluded and step.state.deadlines == {}
    # A lesson that completed has no deadline left to fire.
    pipeline = LocalPipeline(Gateway(), settings=settings)
    asyncio.run(pipeline.generate(brief("ccna", "ospf", lesson_id="L-2")))
    stored = pipeline.log.saga_store.get("L-2")
    assert stored is not None and stored.state is not None and stored.state.deadlines == {}
