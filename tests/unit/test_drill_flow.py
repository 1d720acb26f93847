"""The drill series flow without a broker: orchestrator -> batch workers -> fan-in saga."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest

from events import Envelope
from events.drills import (
    BatchCompleted,
    BatchRequested,
    DrillSeriesCompleted,
    DrillSeriesRequested,
    GamePhase,
    Principle,
    SeriesStatus,
)
from events.sagas import SagaDeadlineReached
from services.bus.consumer import Delivery
from services.bus.memory import InMemoryPublisher
from services.drills.agents import BatchWorker, SeriesOrchestrator, teaching_of
from services.drills.principles import Teaching
from services.drills.principles_pack import shipped_principles
from services.drills.saga import DrillSeriesSaga, DrillSeriesState
from services.runtime.saga import InMemorySagaStore, SagaHandler
from tests.support.drills import HERE, T0, finished, lib, library, request, run_series
from tests.support.helpers import guarded

pytestmark = pytest.mark.unit


async def test_25_drills_go_out_as_5_batches_and_come_back_as_one_artifact() -> None:
    batches, results, pub, _ = await run_series(request())
    assert [b.payload_as(BatchRequested).batch_index for b in batches] == [0, 1, 2, 3, 4]
    assert all(len(b.payload_as(BatchRequested).drill_indices) == 5 for b in batches)
    assert all(r.payload_as(BatchCompleted).drills_generated == 5 for r in results)
    done = finished(pub)
    assert done.status is SeriesStatus.COMPLETED and done.warning is None
    assert [d.index for d in done.drills] == list(range(25)) and done.disagreements == []


async def test_one_batch_failing_leaves_the_other_four_complete() -> None:
    _, results, pub, _ = await run_series(request(), break_batch=2)
    failed = results[2].payload_as(BatchCompleted)
    # A forced play is no transient error: reported at once, not retried.
    assert not failed.success and failed.retry_count == 0 and "at least 2" in (failed.error or "")
    done = finished(pub)
    assert done.status is SeriesStatus.COMPLETED and done.failed_batches == [2]
    assert done.warning == "batches [2] failed" and len(done.drills) == 20


async def test_no_batch_by_the_deadline_fails_the_series() -> None:
    _, _, pub, saga = await run_series(request(deadline_s=60), deliver=False)
    due = saga.due_deadlines(T0 + timedelta(seconds=61))
    assert len(due) == 1 and not saga.due_deadlines(T0 + timedelta(seconds=59))
    await saga.handle(due[0], Delivery("t.drills", 0, 99, None, b"", ()))
    done = finished(pub)
    assert done.status is SeriesStatus.FAILED and done.failed_batches == [0, 1, 2, 3, 4]
    assert isinstance(due[0].payload, SagaDeadlineReached)


async def test_verification_runs_on_the_reconstructed_artifact() -> None:
    batches = list(await SeriesOrchestrator(lib).handle(request(target_drill_count=5), HERE))
    (result,) = await BatchWorker().handle(batches[0], HERE)
    completed = result.payload_as(BatchCompleted)
    wrong = completed.drills[3].model_copy(
        update={
            "best_move": completed.drills[3].options[(completed.drills[3].answer_index + 1) % 4],
            "answer_index": (completed.drills[3].answer_index + 1) % 4,
        }
    )
    tampered = result.model_copy(
        update={
            "payload": completed.model_copy(
                update={"drills": [*completed.drills[:3], wrong, completed.drills[4]]}
            )
        }
    )
    pub = InMemoryPublisher()
    saga = SagaHandler(DrillSeriesSaga(), InMemorySagaStore(DrillSeriesState), pub)
    for offset, e in enumerate([batches[0], tampered]):
        await saga.handle(e, Delivery("t.drills", 0, offset, None, b"", ()))
    (problem,) = finished(pub).disagreements
    assert problem.startswith("drill 3: keyed")


async def test_the_single_call_path_makes_one_batch() -> None:
    batches, _, pub, _ = await run_series(request(batched=False, target_drill_count=12))
    assert len(batches) == 1 and len(batches[0].payload_as(BatchRequested).drill_indices) == 12
    assert finished(pub).status is SeriesStatus.COMPLETED


async def test_a_library_without_the_phase_fails_clearly() -> None:
    async def empty(engine: str) -> dict:  # type: ignore[type-arg]
        return {GamePhase.OPENING: library()[GamePhase.OPENING]}

    (out,) = await SeriesOrchestrator(empty).handle(request(game_phases=[GamePhase.BEAROFF]), HERE)
    done = out.payload_as(DrillSeriesCompleted)
    assert done.status is SeriesStatus.FAILED and "run `nls positions seed`" in (done.warning or "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_drill_count", 0),
        ("target_drill_count", -4),
        ("game_phases", ["ENDGAME"]),
        ("engine_id", "stockfish"),
        ("batch_size", 0),
        ("game_phases", []),
    ],
)
def test_bad_requests_are_refused_naming_the_field(field: str, value: object) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        DrillSeriesRequested(artifact_id=uuid.uuid4(), project_id="p", **{field: value})  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"][0] == field


def drafts_of(batch: Envelope, *, wrong: bool = False) -> dict:  # type: ignore[type-arg]
    from services.drills.drills import make_drill

    r = batch.payload_as(BatchRequested)
    out = []
    for i, p in zip(r.drill_indices, r.positions, strict=True):
        d = make_drill(p, i)
        best = d.options[(d.answer_index + 1) % len(d.options)] if wrong else d.best_move
        out.append(
            {
                "index": i,
                "question": "Best play here?",
                "options": d.options,
                "best_move": best,
                "explanations": d.explanations,
                "principle": d.principle,
            }
        )
    return {"drills": out}


async def test_the_llm_writes_the_prose_and_a_wrong_key_falls_back_to_rules() -> None:
    from services.generation import Gateway
    from services.generation.memory import ScriptedProvider

    (batch, *_) = await SeriesOrchestrator(lib).handle(request(target_drill_count=5), HERE)
    good = ScriptedProvider().then(drafts_of(batch))
    (out,) = await BatchWorker(Gateway([good]), strategy="llm").handle(batch, HERE)
    made = out.payload_as(BatchCompleted)
    assert made.success and {d.question for d in made.drills} == {"Best play here?"}
    assert made.usage is not None and made.usage.strategy == "llm"
    assert made.usage.prompt_version == "drill-batch@v2"
    # The prompt carries the series' teaching: principles with definitions, the stage.
    sent = orjson.loads(good.calls[0].turns[-1].text.split("<data>")[1].split("</data>")[0])
    pack = shipped_principles()
    assert sent["curriculum"][0]["phase"] == "MIDDLE" and sent["curriculum"][0]["goal"]
    by_slug = {p["slug"]: p for p in sent["principles"]}
    assert by_slug["priming"]["definition"] == pack.entry("priming").definition
    assert set(sent["principle_tags"]) == {p.value for p in Principle} <= set(by_slug)
    assert "principle_tags" in good.calls[0].system and "definition" in good.calls[0].system

    wrong = drafts_of(batch, wrong=True)
    bad = ScriptedProvider().then(wrong, wrong)
    (out,) = await BatchWorker(Gateway([bad]), strategy="llm").handle(batch, HERE)
    made = out.payload_as(BatchCompleted)
    assert "the engine's best is" in bad.calls[1].turns[-1].text  # the re-ask says why
    assert made.success and made.usage is not None and made.usage.strategy == "rules_fallback"
    assert all(d.best_move == "8/5 6/5" for d in made.drills)


async def test_each_batch_carries_the_series_teaching_and_its_drills_cite_it() -> None:
    pack = shipped_principles()
    (batch, *_) = await SeriesOrchestrator(lib).handle(request(target_drill_count=10), HERE)
    context = batch.payload_as(BatchRequested).context
    curriculum: Any = context.curriculum
    mental_model: Any = context.mental_model
    assert Teaching.from_context(context.mental_model, context.curriculum) == pack.teaching(
        [GamePhase.MIDDLE]
    )
    assert [s["phase"] for s in curriculum["stages"]] == ["MIDDLE"]
    assert curriculum["target_drills"] == 10 and curriculum["context_tokens"]
    (out,) = await BatchWorker().handle(batch, HERE)
    definition = pack.entry("point-making").definition
    assert all(
        why.endswith(definition)
        for d in out.payload_as(BatchCompleted).drills
        for why in d.explanations
    )

    # The worker teaches what the batch's context says, not what it would load itself...
    principles = [
        {**p, "definition": "Two or more checkers on one point make it yours."}
        if p["slug"] == "point-making"
        else p
        for p in mental_model["principles"]
    ]
    edited = context.model_copy(update={"mental_model": {**mental_model, "principles": principles}})
    r = batch.payload_as(BatchRequested)
    own = batch.model_copy(update={"payload": r.model_copy(update={"context": edited})})
    (out,) = await BatchWorker().handle(own, HERE)
    assert (
        out.payload_as(BatchCompleted)
        .drills[0]
        .explanations[0]
        .endswith("point-making: Two or more checkers on one point make it yours.")
    )
    # ...and a context from before the pack was shipped gets the shipped pack's.
    old = context.model_copy(update={"mental_model": {"phases": ["MIDDLE"]}})
    older = batch.model_copy(update={"payload": r.model_copy(update={"context": old})})
    assert teaching_of(older.payload_as(BatchRequested)) == pack.teaching([GamePhase.MIDDLE])


class _Flaky(BatchWorker):
    """Times out ``fails`` times, then makes the batch."""

    def __init__(self, fails: int) -> None:
        super().__init__()
        self.fails = fails

    async def generate(self, request: BatchRequested) -> Any:
        if self.fails:
            self.fails -= 1
            raise TimeoutError("the model took too long")
        return await super().generate(request)


async def test_transient_failures_are_retried_and_counted() -> None:
    batches = list(await SeriesOrchestrator(lib).handle(request(target_drill_count=5), HERE))
    started, done = await guarded(_Flaky(2), batches[0])
    assert started.event_type == "batch-started"
    completed = done.payload_as(BatchCompleted)
    assert completed.success and completed.retry_count == 2


async def test_a_batch_still_failing_after_three_retries_is_reported_failed() -> None:
    batches = list(await SeriesOrchestrator(lib).handle(request(target_drill_count=5), HERE))
    _, done = await guarded(_Flaky(10), batches[0])
    failed = done.payload_as(BatchCompleted)
    assert not failed.success and failed.retry_count == 3
    assert "after 4 attempts" in (failed.error or "")
