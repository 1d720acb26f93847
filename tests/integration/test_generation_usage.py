"""Usage travels with generated content: events carrying usage records are folded into
generation_usage, read by `nls stats usage` and GET /v1/stats/usage."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import httpx
import orjson
import pytest

from events import Envelope
from events.common import GenerationUsage
from events.drills import BatchCompleted
from events.lessons import LessonPhase, LessonPhaseCompleted, PhaseStatus
from projections.db import make_engine
from projections.usage import usage_stats
from services.api.app import create_app
from services.bus.producer import EventPublisher
from services.generation import generate
from services.generation.memory import ScriptedProvider
from services.settings import Settings
from tests.conftest import PYTHON, ROOT, child_env
from tests.support.helpers import background, count_rows, wait_until
from tests.support.llm import GOOD_HINT, HINTS, HintInput, gateway_with
from tests.support.platform import projector

pytestmark = pytest.mark.integration

INPUT = HintInput(concept="VLANs", facts=["A VLAN is one broadcast domain."], answer_given="x")


async def usages() -> list[GenerationUsage]:
    """Ten real usage records: six llm successes, two llm fallbacks, two rules."""
    provider = ScriptedProvider().then(*[GOOD_HINT] * 6, *["{broken"] * 4)
    gateway = gateway_with(provider)
    made = [await generate(HINTS, INPUT, strategy="llm", gateway=gateway) for _ in range(8)]
    made += [await generate(HINTS, INPUT, strategy="rules", gateway=gateway) for _ in range(2)]
    return [m.usage for m in made]


def content_events(records: list[GenerationUsage]) -> list[Envelope]:
    """Drill batches and lesson phases carrying the records, on two topics."""
    events = []
    for i, usage in enumerate(records):
        if i % 2:
            payload: BatchCompleted | LessonPhaseCompleted = BatchCompleted(
                artifact_id=uuid.uuid4(),
                batch_index=0,
                success=True,
                drills_generated=5,
                retry_count=0,
                usage=usage,
            )
        else:
            payload = LessonPhaseCompleted(
                lesson_id=f"lesson-{i}",
                phase=LessonPhase.ASSEMBLER,
                status=PhaseStatus.COMPLETED,
                output={"html": "<p>VLANs</p>"},
                duration_ms=12,
                usage=usage,
            )
        events.append(Envelope.new(payload, source="test"))
    # One without usage (rules content that recorded none) is simply not a row.
    events.append(
        Envelope.new(
            BatchCompleted(
                artifact_id=uuid.uuid4(),
                batch_index=1,
                success=False,
                drills_generated=0,
                error="engine crashed",
                retry_count=3,
            ),
            source="test",
        )
    )
    return events


async def test_usage_is_projected_once_and_summarised(settings: Settings) -> None:
    events = content_events(await usages())
    async with EventPublisher(settings) as pub:
        await pub.publish(events)
        await pub.publish(events[:4])  # redelivered: no duplicate rows
    engine = make_engine(settings)
    try:
        async with background(projector(settings, "generation_usage")):
            await wait_until(
                lambda: count_rows(engine, "generation_usage"),
                lambda n: n >= 10,
                what="10 usage rows",
            )
        async with engine.connect() as conn:
            stats = await usage_stats(conn)
            assert await usage_stats(conn, family="nope") == []
    finally:
        await engine.dispose()
    assert [(s.family, s.strategy, s.provider, s.calls) for s in stats] == [
        ("hint", "llm", "scripted", 8),
        ("hint", "rules", None, 2),
    ]
    llm = stats[0]
    assert llm.fallback_rate == pytest.approx(0.25)
    # 6 successes at 100 input tokens, 2 fallbacks that each spent 2 calls of 100.
    assert llm.input_tokens == 1000 and llm.output_tokens > 0
    assert llm.latency_p95_ms >= llm.latency_p50_ms >= 0

    result = await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "-m", "tools.cli", "stats", "usage", "--json"],
        env=child_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    printed = orjson.loads(result.stdout)
    assert [(r["strategy"], r["calls"], r["fallback_rate"]) for r in printed] == [
        ("llm", 8, 0.25),
        ("rules", 2, 0.0),
    ]
    table = await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "-m", "tools.cli", "stats", "usage", "--since", "1h"],
        env=child_env(settings, COLUMNS="200"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.returncode == 0 and "25.0%" in table.stdout and "scripted" in table.stdout
    bad = await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "-m", "tools.cli", "stats", "usage", "--since", "yesterday"],
        env=child_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "--since 'yesterday'" in bad.stderr

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            assert (await client.get("/v1/stats/usage")).status_code == 401
            auth = {"Authorization": "Bearer test-token"}
            body = (await client.get("/v1/stats/usage?family=hint", headers=auth)).json()
            assert [r["calls"] for r in body] == [8, 2]
            bad_since = await client.get("/v1/stats/usage?since=soon", headers=auth)
            assert bad_since.status_code == 422 and "since" in bad_since.text
