"""A drill series through the broker into Postgres: orchestrator, batch worker and fan-in
saga on the real bus; progress rising batch by batch in the read model."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from events import Context, Envelope, decode
from events.drills import BatchRequested, DrillSeriesRequested, GamePhase, PositionSeeded
from projections.db import make_engine
from services.agents import run_drill_orchestrator, run_projector
from services.api.app import create_app
from services.bus.consumer import Delivery
from services.bus.producer import EventPublisher
from services.drills.agents import BatchWorker
from services.drills.saga import DrillSeriesSaga, DrillSeriesState
from services.runtime.batch_runner import BatchRunner
from services.runtime.saga import InMemorySagaStore, SagaHandler
from services.settings import Settings
from tests.integration.test_content_cli import nls
from tests.support.helpers import background, query_rows, read_topic, wait_until
from tests.unit.test_drill_loading import library

pytestmark = pytest.mark.integration


def library_events() -> list[Envelope]:
    return [
        Envelope.new(
            PositionSeeded(
                engine_id="gnubg",
                position_id=p.position_id,
                dice=p.dice,
                phase=p.phase,
                candidate_moves=p.candidate_moves,
                created_at=p.created_at,
                ply=0,
            ),
            source="test",
        )
        for positions in library(30).values()
        for p in positions
    ]


async def run_handler(settings: Settings, stop: asyncio.Event, handler: Any, group: str) -> None:
    async with EventPublisher(settings, client_id=group) as publisher:
        runner = BatchRunner(
            handler,
            settings=settings,
            publisher=publisher,
            topics=[settings.topics().domain(Context.DRILLS)],
            group_id=f"{settings.topic_prefix}.{group}",
        )
        await runner.run(stop)


def series(**kw: Any) -> Envelope:
    values: dict[str, Any] = {
        "artifact_id": uuid.uuid4(),
        "project_id": "p1",
        "target_drill_count": 25,
        "game_phases": [GamePhase.EARLY, GamePhase.MIDDLE],
        "seed": 4,
    }
    return Envelope.new(DrillSeriesRequested(**(values | kw)), source="test")


async def test_a_series_is_generated_in_batches_and_finished(settings: Settings) -> None:
    request = series()
    artifact = request.payload_as(DrillSeriesRequested).artifact_id
    async with EventPublisher(settings) as pub:
        await pub.publish(library_events())
    engine = make_engine(settings)
    saga = SagaHandler(DrillSeriesSaga(), InMemorySagaStore(DrillSeriesState), None)  # type: ignore[arg-type]
    try:
        async with EventPublisher(settings, client_id="saga") as saga_pub:
            saga.publisher = saga_pub
            async with background(
                lambda stop: run_projector(settings, stop, ["positions", "drills"]),
                lambda stop: run_drill_orchestrator(settings, stop),
                lambda stop: run_handler(settings, stop, BatchWorker(base_delay_s=0), "batches"),
                lambda stop: run_handler(settings, stop, saga, "series"),
            ):
                await wait_until(
                    lambda: query_rows(engine, "SELECT count(*) FROM positions"),
                    lambda r: r and r[0][0] == 21 + 90,
                    what="the library",
                )
                async with EventPublisher(settings) as pub:
                    await pub.publish([request])
                done = await wait_until(
                    lambda: query_rows(
                        engine,
                        "SELECT status, total_batches, completed_batches, drills_generated, "
                        f"warning FROM drill_series WHERE artifact_id = '{artifact}'",
                    ),
                    lambda r: bool(r) and r[0][0] in ("COMPLETED", "FAILED"),
                    timeout=60,
                    what="the series to finish",
                )
                followed = await nls(
                    settings,
                    "drills",
                    "request",
                    "--drills",
                    "10",
                    "--phases",
                    "early",
                    "--seed",
                    "2",
                )
                assert followed.returncode == 0, followed.stderr
                assert "COMPLETED: 10/10 drills in 2 batch(es)" in followed.stdout
                app = create_app(settings)
                async with (
                    app.router.lifespan_context(app),
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app),
                        base_url="http://api",
                        headers={"Authorization": "Bearer test-token"},
                    ) as api,
                ):
                    view = (await api.get(f"/v1/drill-series/{artifact}")).json()
                    assert view["status"] == "COMPLETED" and len(view["drills"]) == 25
                    # 24 positions (12 a phase) sent, against 25 a phase for the fixed maximum
                    assert 0 < view["context_tokens"] < view["fixed_maximum_tokens"]
                    assert (await api.get(f"/v1/drill-series/{uuid.uuid4()}")).status_code == 404
                drills = await query_rows(
                    engine,
                    'SELECT "index", batch_index, batch_status, phase, drill '
                    f"FROM drills WHERE artifact_id = '{artifact}' ORDER BY \"index\"",
                )
    finally:
        await engine.dispose()
    assert tuple(done[0]) == ("COMPLETED", 5, 5, 25, None)
    assert [r[0] for r in drills] == list(range(25))
    assert [r[1] for r in drills] == [i // 5 for i in range(25)]
    assert {r[2] for r in drills} == {"COMPLETED"} and {r[3] for r in drills} == {"EARLY", "MIDDLE"}
    assert all(r[4]["best_move"] == "8/5 6/5" for r in drills)

    for args, problem in [
        (("--drills", "0"), "target_drill_count"),
        (("--phases", "ENDGAME"), "unknown game phase 'ENDGAME'"),
        (("--batch-size", "0"), "batch-size"),
    ]:
        refused = await nls(settings, "drills", "request", *args, "--no-wait")
        assert refused.returncode != 0 and problem in refused.stderr, refused.stderr


async def test_progress_rises_batch_by_batch(settings: Settings) -> None:
    request = series(target_drill_count=15, game_phases=[GamePhase.BEAROFF])
    artifact = request.payload_as(DrillSeriesRequested).artifact_id
    async with EventPublisher(settings) as pub:
        await pub.publish(library_events())
    engine = make_engine(settings)

    def progress() -> Any:
        return query_rows(
            engine,
            "SELECT status, completed_batches, drills_generated FROM drill_series "
            f"WHERE artifact_id = '{artifact}'",
        )

    try:
        async with background(
            lambda stop: run_projector(settings, stop, ["positions", "drills"]),
            lambda stop: run_drill_orchestrator(settings, stop),
        ):
            await wait_until(
                lambda: query_rows(engine, "SELECT count(*) FROM positions"),
                lambda r: r and r[0][0] == 21 + 90,
                what="the library",
            )
            async with EventPublisher(settings) as pub:
                await pub.publish([request])
            await wait_until(progress, lambda r: bool(r) and r[0][0] == "GENERATING")
            records = await read_topic(settings, settings.topics().domain(Context.DRILLS))
            batches = [
                e
                for e in (decode(r.value) for r in records)
                if isinstance(e.payload, BatchRequested) and e.payload.artifact_id == artifact
            ]
            assert len(batches) == 3
            seen, generating = [], []
            async with EventPublisher(settings) as pub:
                worker = BatchWorker(base_delay_s=0)
                started = []
                worker.announce = lambda events: _keep(started, events)
                for k, b in enumerate(batches, start=1):
                    done = list(await worker.handle(b, Delivery("t", 0, 0, None, b"", ())))
                    await pub.publish(started[-1:])  # the worker took the batch...
                    rows = await wait_until(
                        lambda k=k: query_rows(
                            engine,
                            "SELECT DISTINCT batch_status FROM drills "
                            f"WHERE artifact_id = '{artifact}' AND batch_index = {k - 1}",
                        ),
                        lambda r: [tuple(x) for x in r] == [("GENERATING",)],
                    )
                    generating.append(rows[0][0])
                    await pub.publish(done)  # ...and reported it
                    row = await wait_until(progress, lambda r, k=k: r[0][1] == k)
                    seen.append(tuple(row[0]))
    finally:
        await engine.dispose()
    assert generating == ["GENERATING"] * 3
    assert seen == [("GENERATING", 1, 5), ("GENERATING", 2, 10), ("GENERATING", 3, 15)]


async def _keep(into: list[Envelope], events: Any) -> None:
    into.extend(events)
