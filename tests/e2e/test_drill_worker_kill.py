"""kill -9 the batch worker while batches are with the model: after a restart every batch
is reported once and the series completes with all its drills."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from events import Context, Envelope, decode
from events.drills import BatchCompleted, DrillSeriesRequested, GamePhase
from projections.db import make_engine
from services.bus.producer import EventPublisher
from services.settings import Settings
from tests.conftest import agent_process
from tests.support.drills import library_events
from tests.support.helpers import background, query_rows, read_topic, wait_until
from tests.support.platform import agent, projector
from tools.fakellm import FakeLLM
from tools.fakellm.simulated import simulated_model

pytestmark = pytest.mark.e2e


def worker(settings: Settings, model: FakeLLM, log: Path) -> subprocess.Popen[bytes]:
    return agent_process(
        settings,
        "drill-batches",
        log,
        NLS_DRILL_STRATEGY="llm",
        ANTHROPIC_API_KEY="test",
        ANTHROPIC_BASE_URL=model.url,
        NLS_LLM_FAULTS="latency_ms=2500,seed=1",
        NLS_LLM_CONCURRENCY="5",
    )


async def test_a_killed_batch_worker_loses_and_repeats_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    artifact = uuid.uuid4()
    request = DrillSeriesRequested(
        artifact_id=artifact,
        project_id="p",
        target_drill_count=25,
        game_phases=[GamePhase.EARLY, GamePhase.MIDDLE],
        seed=3,
    )
    async with EventPublisher(settings) as pub:
        await pub.publish(library_events())
    engine = make_engine(settings)
    log = tmp_path / "worker.log"
    with FakeLLM("anthropic", responder=simulated_model) as model:
        first = worker(settings, model, log)
        try:
            async with background(
                projector(settings, "positions", "drills"),
                agent(settings, "drill-orchestrator"),
                agent(settings, "drill-series"),
            ):
                await wait_until(
                    lambda: query_rows(engine, "SELECT count(*) FROM positions"),
                    lambda r: bool(r) and r[0][0] == 21 + 90,
                    what="the library",
                )
                async with EventPublisher(settings) as pub:
                    await pub.publish([Envelope.new(request, source="test")])

                # Batches are with the model: kill the worker mid-batch.
                async def model_calls() -> int:
                    return len(model.requests)

                await wait_until(
                    model_calls, lambda n: n >= 1, timeout=90, what="a batch at the model"
                )
                first.kill()
                first.wait()
                second = worker(settings, model, log)
                try:
                    done = await wait_until(
                        lambda: query_rows(
                            engine,
                            "SELECT status, completed_batches, drills_generated "
                            f"FROM drill_series WHERE artifact_id = '{artifact}'",
                        ),
                        lambda r: bool(r) and r[0][0] in ("COMPLETED", "FAILED"),
                        timeout=180,
                        what="the series after the restart",
                    )
                finally:
                    second.terminate()
                    second.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
        rows = await query_rows(
            engine,
            'SELECT count(*), count(DISTINCT "index") FROM drills '
            f"WHERE artifact_id = '{artifact}' AND batch_status = 'COMPLETED'",
        )
    await engine.dispose()
    assert tuple(done[0]) == ("COMPLETED", 5, 25), log.read_text()[-2000:]
    assert tuple(rows[0]) == (25, 25)
    completions = [
        e
        for e in (
            decode(r.value)
            for r in await read_topic(settings, settings.topics().domain(Context.DRILLS))
        )
        if isinstance(e.payload, BatchCompleted)
    ]
    by_batch: dict[int, set[uuid.UUID]] = {}
    for e in completions:
        by_batch.setdefault(e.payload_as(BatchCompleted).batch_index, set()).add(e.event_id)
    # A batch redone after the kill re-emits its completion under the same id.
    assert sorted(by_batch) == [0, 1, 2, 3, 4] and all(len(ids) == 1 for ids in by_batch.values())
