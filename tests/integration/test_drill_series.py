"""A drill series through the broker into Postgres: orchestrator, batch worker and fan-in
saga on the real bus; progress rising batch by batch in the read model; `nls drills
request` and `nls drills status` run in-process; the principles pack's example plays
checked against GNU Backgammon."""

from __future__ import annotations

import re
import uuid
from functools import partial
from typing import Any

import httpx
import pytest
from typer.testing import Result

from events import Context, Envelope, decode
from events.drills import (
    BatchRequested,
    DrillSeriesRequested,
    GamePhase,
)
from projections.db import make_engine
from services.api.app import create_app
from services.bus.producer import EventPublisher
from services.drills.agents import BatchWorker
from services.drills.engine import OPENING_POSITION, GnubgEngine
from services.drills.principles_pack import shipped_principles
from services.settings import Settings
from tests.support.cli import invoke
from tests.support.drills import forced_position, library_events
from tests.support.helpers import background, guarded, query_rows, read_topic, wait_until
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration


async def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str, answer: str | None = None
) -> Result:
    """``nls ARGS`` in-process, against this test's broker, topics and schema."""
    return await invoke(settings, *args, answer=answer)


def said(result: Result) -> str:
    """Stdout with rich's line wrapping undone."""
    return " ".join(result.stdout.split())


def series(**kw: Any) -> Envelope:
    values: dict[str, Any] = {
        "artifact_id": uuid.uuid4(),
        "project_id": "p1",
        "target_drill_count": 25,
        "game_phases": [GamePhase.EARLY, GamePhase.MIDDLE],
        "seed": 4,
    }
    return Envelope.new(DrillSeriesRequested(**(values | kw)), source="test")


async def test_a_series_is_generated_in_batches_and_finished(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = series()
    artifact = request.payload_as(DrillSeriesRequested).artifact_id
    # 31 BEAROFF positions, one of them forced, all loaded (31 drills): one batch fails.
    partial = series(
        target_drill_count=31, game_phases=[GamePhase.BEAROFF], max_positions_per_phase=40
    )
    partial_id = partial.payload_as(DrillSeriesRequested).artifact_id
    async with EventPublisher(settings) as pub:
        await pub.publish([*library_events(), forced_position()])
    engine = make_engine(settings)

    async def finished(series_id: uuid.UUID) -> list[Any]:
        async def row() -> list[Any]:
            return await query_rows(
                engine,
                "SELECT status, total_batches, completed_batches, drills_generated, "
                f"warning, failed_batches FROM drill_series WHERE artifact_id = '{series_id}'",
            )

        return await wait_until(
            row,
            lambda r: bool(r) and r[0][0] in ("COMPLETED", "FAILED"),
            timeout=60,
            what=f"series {series_id} to finish",
        )

    try:
        async with background(
            projector(settings, "positions", "drills"),
            agent(settings, "drill-orchestrator"),
            agent(settings, "drill-batches"),
            agent(settings, "drill-series"),
        ):
            await wait_until(
                lambda: query_rows(engine, "SELECT count(*) FROM positions"),
                lambda r: bool(r) and r[0][0] == 21 + 90 + 1,
                what="the library",
            )
            async with EventPublisher(settings) as pub:
                await pub.publish([request, partial])
            done = await finished(artifact)
            partly = await finished(partial_id)

            # `nls drills request` follows its series with the seed's progress line.
            followed = await cli(
                    settings, monkeypatch, "drills", "request", "--drills", "10",
                    "--phases", "early", "--seed", "2",
                )  # fmt: skip
            assert followed.exit_code == 0, followed.output
            assert "Generated 10/10 drills (Batch 2/2)" in said(followed)
            assert "COMPLETED: 10/10 drills in 2 batch(es)" in said(followed)

            status = await cli(settings, monkeypatch, "drills", "status", str(artifact))
            failed_status = await cli(settings, monkeypatch, "drills", "status", str(partial_id))
            as_json = await cli(
                settings, monkeypatch, "drills", "status", str(partial_id), "--json"
            )
            unknown = await cli(settings, monkeypatch, "drills", "status", str(uuid.uuid4()))

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
            drill_rows = await query_rows(
                engine,
                'SELECT "index", batch_index, batch_status, phase, drill '
                f"FROM drills WHERE artifact_id = '{artifact}' ORDER BY \"index\"",
            )
            failed_rows = await query_rows(
                engine,
                "SELECT batch_index, count(*) FROM drills "
                f"WHERE artifact_id = '{partial_id}' AND batch_status = 'FAILED' "
                "GROUP BY batch_index",
            )
    finally:
        await engine.dispose()
    assert tuple(done[0]) == ("COMPLETED", 5, 5, 25, None, [])
    assert [r[0] for r in drill_rows] == list(range(25))
    assert [r[1] for r in drill_rows] == [i // 5 for i in range(25)]
    assert {r[2] for r in drill_rows} == {"COMPLETED"}
    assert {r[3] for r in drill_rows} == {"EARLY", "MIDDLE"}
    assert all(r[4]["best_move"] == "8/5 6/5" for r in drill_rows)
    # The rules strategy's explanations cite the principle's definition from the pack.
    definition = shipped_principles().entry("point-making").definition
    assert all(why.endswith(definition) for r in drill_rows for why in r[4]["explanations"])

    assert status.exit_code == 0, status.output
    assert f"drill series {artifact} (project p1): COMPLETED" in said(status)
    assert "Generated 25/25 drills (Batch 5/5)" in said(status)
    assert "failed batches: none (0 of 5)" in said(status)
    assert re.search(r"positions sent: ~[\d,]+ tokens against ~[\d,]+ for the fixed maximum "
                     r"\(\d+% saved\)", said(status))  # fmt: skip
    assert "verification: 0 disagreement(s) with the engine" in said(status)

    ((bad_batch, lost),) = failed_rows
    assert tuple(partly[0]) == (
        "COMPLETED", 7, 6, 31 - lost, f"batches [{bad_batch}] failed", [bad_batch]
    )  # fmt: skip
    assert failed_status.exit_code == 0, failed_status.output
    shown = said(failed_status)
    assert f"Generated {31 - lost}/31 drills (Batch 7/7)" in shown
    assert f"failed batches: {bad_batch} (1 of 7)" in shown
    assert f"warning: batches [{bad_batch}] failed" in shown
    assert "FAILED" in shown and "at least 2" in shown  # the batch table: status and error
    assert as_json.exit_code == 0
    assert '"failed_batches": [' in as_json.stdout and f"{bad_batch}" in as_json.stdout
    assert unknown.exit_code == 1 and "no drill series" in unknown.stderr

    for args, problem in [
        (("--drills", "0"), "target_drill_count"),
        (("--phases", "ENDGAME"), "unknown game phase 'ENDGAME'"),
        (("--batch-size", "0"), "batch-size"),
    ]:
        refused = await cli(settings, monkeypatch, "drills", "request", *args, "--no-wait")
        assert refused.exit_code != 0 and problem in refused.stderr, refused.stderr


async def test_progress_rises_batch_by_batch(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = series(target_drill_count=15, game_phases=[GamePhase.BEAROFF])
    artifact = request.payload_as(DrillSeriesRequested).artifact_id
    async with EventPublisher(settings) as pub:
        await pub.publish(library_events())
    engine = make_engine(settings)

    async def statuses(batch: int) -> list[Any]:
        return await query_rows(
            engine,
            "SELECT DISTINCT batch_status FROM drills "
            f"WHERE artifact_id = '{artifact}' AND batch_index = {batch}",
        )

    def reported(k: int, rows: list[Any]) -> bool:
        return bool(rows[0][1] == k)

    def progress() -> Any:
        return query_rows(
            engine,
            "SELECT status, completed_batches, drills_generated FROM drill_series "
            f"WHERE artifact_id = '{artifact}'",
        )

    try:
        async with background(
            projector(settings, "positions", "drills"),
            agent(settings, "drill-orchestrator"),
        ):
            await wait_until(
                lambda: query_rows(engine, "SELECT count(*) FROM positions"),
                lambda r: bool(r) and r[0][0] == 21 + 90,
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
            seen: list[tuple[Any, ...]] = []
            generating: list[str] = []
            lines: list[str] = []
            async with EventPublisher(settings) as pub:
                worker = BatchWorker()
                for k, b in enumerate(batches, start=1):
                    started, done = await guarded(worker, b)
                    await pub.publish([started])  # the worker took the batch...
                    rows = await wait_until(
                        partial(statuses, k - 1),
                        lambda r: [tuple(x) for x in r] == [("GENERATING",)],
                    )
                    generating.append(rows[0][0])
                    await pub.publish([done])  # ...and reported it
                    row = await wait_until(progress, partial(reported, k))
                    seen.append(tuple(row[0]))
                    status = await cli(settings, monkeypatch, "drills", "status", str(artifact))
                    lines.append(said(status))
    finally:
        await engine.dispose()
    assert generating == ["GENERATING"] * 3
    assert seen == [("GENERATING", 1, 5), ("GENERATING", 2, 10), ("GENERATING", 3, 15)]
    # "Generated X/Y drills (Batch A/B)", as the seed's UI shows it, batch after batch.
    for k, line in enumerate(lines, start=1):
        assert f"Generated {5 * k}/15 drills (Batch {k}/3)" in line, line
        assert "GENERATING" in line and "failed batches: none (0 of 3)" in line


async def test_the_principles_packs_example_plays_are_plays_gnubg_ranks() -> None:
    """The pack's examples from the starting position name real plays for their roll: each
    is (part of) GNU Backgammon's best or second-best play."""
    opening = re.compile(
        r"^(\d)-(\d) from the starting position: ([^ ].*?) (?:runs|makes|splits|slots|puts)"
    )
    examples = [
        (p.slug, opening.match(p.example))
        for p in shipped_principles().principles
        if p.example and "starting position" in p.example
    ]
    assert len(examples) >= 5
    async with GnubgEngine(size=1) as gnubg:
        for slug, m in examples:
            assert m is not None, slug
            roll, play = (int(m[1]), int(m[2])), m[3].removesuffix(":")
            ranked = [c.move for c in await gnubg.analyse(OPENING_POSITION, roll, n=5)]
            # A whole play, or part of one (building's 13/9 is half of 4-1's 24/23 13/9).
            assert any(set(play.split()) <= set(r.split()) for r in ranked[:2]), (
                slug,
                roll,
                play,
                ranked,
            )
