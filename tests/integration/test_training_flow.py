"""Training JIT through the broker into training_sessions, with the llm path on the fake
Anthropic server and its fallback; GET /v1/training-sessions/{id}; `nls training jit`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from events import Envelope
from events.training import Recovery, SessionJitRequested
from projections.db import make_engine
from services.api.app import create_app
from services.bus.producer import EventPublisher
from services.generation import Gateway
from services.generation.anthropic_provider import AnthropicProvider
from services.settings import Settings
from tests.support.cli import nls
from tests.support.helpers import background, query_rows, wait_until
from tests.support.platform import agent, projector
from tests.support.training import make_input
from tools.fakellm import FakeLLM
from tools.fakellm.simulated import simulated_model

pytestmark = pytest.mark.integration


def request(session: str, strategy: str, **recovery: Any) -> Envelope:
    input = make_input(session_id=session, recovery=Recovery(sleep_hours=7, **recovery))
    return Envelope.new(
        SessionJitRequested(session_id=session, lifter_id="ada", input=input, strategy=strategy),
        source="test",
    )


async def test_sessions_are_adjusted_and_projected(settings: Settings) -> None:
    with FakeLLM("anthropic", responder=simulated_model) as model:
        gateway = Gateway(
            [AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=model.url)]
        )
        engine = make_engine(settings)
        app = create_app(settings)
        try:
            async with background(
                projector(settings, "training"),
                agent(settings, "training-jit", gateway=gateway),
            ):
                async with EventPublisher(settings) as pub:
                    await pub.publish(
                        [
                            request("s-formula", "formula", readiness=4),
                            request("s-llm", "llm", readiness=4),
                            request("s-hybrid", "hybrid", readiness=4),
                        ]
                    )
                rows = await wait_until(
                    lambda: query_rows(
                        engine,
                        "SELECT session_id, jit_strategy, session, jit_generated_at, "
                        "jit_input_snapshot FROM training_sessions ORDER BY session_id",
                    ),
                    lambda r: len(r) == 3,
                    what="3 sessions",
                )
                model.say("{broken").say("{still broken")
                async with EventPublisher(settings) as pub:
                    await pub.publish([request("s-fallback", "llm", readiness=4)])
                fallback = await wait_until(
                    lambda: query_rows(
                        engine,
                        "SELECT jit_strategy FROM training_sessions "
                        "WHERE session_id = 's-fallback'",
                    ),
                    lambda r: bool(r),
                    what="the fallback session",
                )
                async with (
                    app.router.lifespan_context(app),
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app),
                        base_url="http://api",
                        headers={"Authorization": "Bearer test-token"},
                    ) as api,
                ):
                    got = (await api.get("/v1/training-sessions/s-llm")).json()
                    missing = await api.get("/v1/training-sessions/nope")
        finally:
            await engine.dispose()
    by_id = {r[0]: r for r in rows}
    assert {k: v[1] for k, v in by_id.items()} == {
        "s-formula": "formula",
        "s-llm": "llm",
        "s-hybrid": "hybrid",
    }
    assert fallback[0][0] == "formula_fallback"
    llm_sets = by_id["s-llm"][2]["working_sets"]
    assert len(llm_sets) == 3 and llm_sets[0]["weight_kg"] == pytest.approx(
        160 * 0.75 * 0.9, abs=1.25
    )
    assert all(r[3] is not None for r in rows)
    assert by_id["s-llm"][4]["session_id"] == "s-llm" and "warmup" in by_id["s-llm"][4]
    assert got["jit_strategy"] == "llm" and got["session"]["main_lift"] == "squat"
    assert missing.status_code == 404


async def test_the_cli_prints_the_session_and_names_bad_input(
    settings: Settings, tmp_path: Path
) -> None:
    good = tmp_path / "session.json"
    good.write_text(make_input(recovery=Recovery(sleep_hours=5, readiness=3)).model_dump_json())
    out = await nls(settings, "training", "jit", str(good), "--strategy", "formula")
    assert out.returncode == 0, out.stderr
    assert "5 @ 107.5, 5 @ 107.5, 5 @ 107.5" in out.stdout  # 160 x 0.75 x 0.9, one set fewer
    assert "low readiness or short sleep" in out.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(good.read_text().replace('"sleep_hours":5.0', '"sleep_hours":-1'))
    refused = await nls(settings, "training", "jit", str(bad))
    assert refused.returncode == 1 and "recovery.sleep_hours" in refused.stderr
    unknown = await nls(settings, "training", "jit", str(good), "--strategy", "magic")
    assert unknown.returncode == 2 and "no strategy 'magic'" in unknown.stderr
