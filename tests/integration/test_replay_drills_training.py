"""Replay equals live for the read models of the drills and training families: `positions`,
`drill_series`, `drills` and `training_sessions`.

Built live through the broker: a position library from GNU Backgammon, the examples'
events published with `nls publish` (a drill series, a training session) plus a few
more requests, the drill agents and the training agent in-process with the llm strategy
on the fake Anthropic server. Then each projection is rebuilt from the log (what `nls
replay` runs) and must checksum equal to live, with no model and no engine call: every
engine call goes through ``GnubgEngine._call`` and every model call through
``Gateway.generate`` and the fake server, and all three are counted.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from events import Context, Envelope, decode
from events.drills import BatchCompleted, DrillSeriesRequested, GamePhase
from events.training import Recovery, SessionJitRequested
from projections.checksum import checksum
from projections.db import make_engine
from projections.replay import rebuild
from services.bootstrap import bootstrap
from services.bus.producer import EventPublisher
from services.drills.engine import GnubgEngine
from services.drills.library import build_library, seeded_events
from services.drills.settings import DrillSettings
from services.generation import Gateway
from services.generation.anthropic_provider import AnthropicProvider
from services.settings import Settings
from services.strength.settings import TrainingSettings
from tests.conftest import ROOT
from tests.support.cli import invoke
from tests.support.helpers import background, count_rows, query_rows, read_topic, wait_until
from tests.support.platform import agent, projector
from tests.support.training import make_input
from tools.fakellm import FakeLLM
from tools.fakellm.simulated import simulated_model

pytestmark = pytest.mark.integration

EXAMPLE_EVENTS = ROOT / "examples" / "events.jsonl"
EXAMPLE_SERIES = uuid.UUID("748bb861-106c-40a7-984d-dbc60180bbbc")
PROJECTIONS = ("positions", "drills", "training")


def count_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count every engine call and every model call made in this process, by any instance."""
    calls: Counter[str] = Counter()
    engine_call = GnubgEngine._call
    generate = Gateway.generate

    async def counted_engine(self: GnubgEngine, *args: Any, **kw: Any) -> Any:
        calls["engine"] += 1
        return await engine_call(self, *args, **kw)

    async def counted_model(self: Gateway, *args: Any, **kw: Any) -> Any:
        calls["model"] += 1
        return await generate(self, *args, **kw)

    monkeypatch.setattr(GnubgEngine, "_call", counted_engine)
    monkeypatch.setattr(Gateway, "generate", counted_model)
    return calls


def more_requests() -> list[Envelope]:
    """Beside the examples': the single-call path, a middle-game and bear-off series on
    the rules strategy, and a session on the formula."""
    series = DrillSeriesRequested(
        artifact_id=uuid.uuid4(),
        project_id="replay",
        target_drill_count=7,
        game_phases=[GamePhase.MIDDLE, GamePhase.BEAROFF],
        batched=False,
        seed=3,
    )
    session = SessionJitRequested(
        session_id="s-formula",
        lifter_id="ada",
        input=make_input(session_id="s-formula", recovery=Recovery(sleep_hours=5, readiness=3)),
        strategy="formula",
    )
    return [Envelope.new(series, source="test"), Envelope.new(session, source="test")]


async def test_positions_drills_and_training_replay_equal_live_without_model_or_engine_calls(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch)
    async with GnubgEngine(size=2) as gnubg:
        library = await build_library(gnubg, per_phase=3, seed=3, max_games=4)
    assert calls["engine"] > 0
    async with EventPublisher(settings) as pub:
        await pub.publish(seeded_events(library))

    engine = make_engine(settings)
    live: dict[str, str] = {}
    with FakeLLM("anthropic", responder=simulated_model) as model:
        gateway = Gateway(
            [AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=model.url)]
        )
        llm = settings.with_section(DrillSettings, drill_strategy="llm").with_section(
            TrainingSettings, training_jit_strategy="llm"
        )
        try:
            async with background(
                projector(settings, *PROJECTIONS),
                agent(settings, "drill-orchestrator"),
                agent(llm, "drill-batches", gateway=gateway),
                agent(settings, "drill-series"),
                agent(llm, "training-jit", gateway=gateway),
            ):
                await wait_until(
                    lambda: count_rows(engine, "positions"),
                    lambda n: n == len(library),
                    what="the library",
                )
                published = await invoke(settings, "publish", str(EXAMPLE_EVENTS))
                assert published.exit_code == 0, published.output
                assert "published 3 event(s)" in published.stdout
                async with EventPublisher(settings) as pub:
                    await pub.publish(more_requests())
                done = await wait_until(
                    lambda: query_rows(
                        engine, "SELECT artifact_id, status, drills_generated FROM drill_series"
                    ),
                    lambda r: len(r) == 2 and {x[1] for x in r} == {"COMPLETED"},
                    timeout=60,
                    what="both series to finish",
                )
                sessions = await wait_until(
                    lambda: query_rows(
                        engine,
                        "SELECT session_id, jit_strategy FROM training_sessions "
                        "ORDER BY session_id",
                    ),
                    lambda r: len(r) == 2,
                    what="both sessions",
                )
            for name in PROJECTIONS:
                live[name], _ = await checksum(engine, bootstrap(settings).projection(name))
            completions = [
                e.payload
                for e in (
                    decode(r.value)
                    for r in await read_topic(settings, settings.topics().domain(Context.DRILLS))
                )
                if isinstance(e.payload, BatchCompleted)
            ]
            before = (Counter(calls), len(model.requests))
            assert before[0]["model"] > 0 and before[1] > 0  # the live build asked the model

            applied = {}
            async with EventPublisher(settings, client_id="replay") as pub:
                for name in PROJECTIONS:
                    projection = bootstrap(settings).projection(name)
                    result = await rebuild(
                        projection, settings=settings, engine=engine, publisher=pub
                    )
                    applied[name] = result.applied
                    assert result.dead_letters == 0, name
                    assert (await checksum(engine, projection))[0] == live[name], name
            after = (Counter(calls), len(model.requests))
            tables = {
                t: await count_rows(engine, t)
                for t in ("positions", "drill_series", "drills", "training_sessions")
            }
        finally:
            await engine.dispose()

    assert after == before  # no engine call, no model call during the replay
    assert {r[0]: r[2] for r in done}[EXAMPLE_SERIES] == 10
    # The model wrote the example series' drills (prompt drill-batch@v2, no fallback).
    by_series = {(c.artifact_id, c.batch_index): c.usage for c in completions}
    assert {u.strategy for (a, _), u in by_series.items() if a == EXAMPLE_SERIES and u} == {"llm"}
    assert all(
        u.prompt_version == "drill-batch@v2"
        for (a, _), u in by_series.items()
        if a == EXAMPLE_SERIES and u
    )
    assert dict(sessions) == {"ada-2026-w03-squat": "llm", "s-formula": "formula"}
    assert tables == {
        "positions": len(library),
        "drill_series": 2,
        "drills": 10 + 7,
        "training_sessions": 2,
    }
    # positions: one event each; drills: requests, batches, starts, completions; training: 2
    assert applied["positions"] == len(library)
    assert applied["drills"] == 2 + 3 + 3 + 3 + 2 and applied["training"] == 2
