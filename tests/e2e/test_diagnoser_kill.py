"""kill -9 the diagnoser mid-stream and restart it: no diagnosis lost, none duplicated.

The expected diagnoses come from the pure rules run over the same stream; the
read model must hold exactly those, with the same fail modes and evidence.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from events import Context, Envelope, decode
from projections.db import make_engine
from projections.learning import diagnoses_of
from services.bus.consumer import Delivery
from services.bus.producer import EventPublisher
from services.diagnosis.agent import Diagnoser
from services.settings import Settings
from tests.conftest import PYTHON, child_env
from tests.support.helpers import answer_event, background, count_rows, read_topic, wait_until
from tests.support.platform import projector

pytestmark = pytest.mark.e2e

LEARNERS = 40
ANSWERS = 3000


def stream() -> list[Envelope]:
    rng = random.Random(11)
    concepts = [uuid.UUID(int=i + 1) for i in range(10)]
    t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    clock = {f"k{n}": t0 for n in range(LEARNERS)}
    out = []
    for i in range(ANSWERS):
        learner = f"k{rng.randrange(LEARNERS)}"
        clock[learner] += timedelta(seconds=rng.randint(10, 90))
        concept = rng.choice(concepts)
        out.append(
            answer_event(
                learner,
                correct=rng.random() < 0.55,
                rt=rng.choice([900, 4000, 8000, 16000]),
                concept=concept,
                occurred_at=clock[learner],
                question_id=f"q{i}",
                question_kind=rng.choice(["recall", "application"]),
                answer_concept_id=rng.choice([None, None, None, concepts[0]]),
            )
        )
    return out


async def expected(events: list[Envelope]) -> dict[uuid.UUID, dict[str, object]]:
    pure = Diagnoser()
    out = {}
    for e in events:
        for d in await pure.handle(e, Delivery("x", 0, 0, None, None, ())):
            out[e.event_id] = d.payload.model_dump(mode="json")  # type: ignore[assignment]
    return out


def diagnoser(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "-m", "tools.cli", "agent", "run", "diagnoser"],
        env=child_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    events = stream()
    want = await expected(events)
    engine = make_engine(settings)
    log = tmp_path / "diagnoser.log"
    proc = diagnoser(settings, log)
    kills = 0
    try:
        async with background(projector(settings, "learning")):
            async with EventPublisher(settings) as pub:
                chunks = [events[i : i + 100] for i in range(0, len(events), 100)]
                for n, chunk in enumerate(chunks):
                    await pub.publish(chunk)
                    await asyncio.sleep(0.05)
                    if n == 8:
                        # Make sure it is really working before pulling the plug.
                        await wait_until(
                            lambda: count_rows(engine, "diagnoses"), lambda c: c > 0, timeout=60
                        )
                        proc.kill()
                        proc.wait()
                        kills += 1
                    if n == 14:
                        proc = diagnoser(settings, log)
                    if n == 22:
                        proc.kill()  # again, while it is catching up
                        proc.wait()
                        kills += 1
                        proc = diagnoser(settings, log)
            await wait_until(
                lambda: count_rows(engine, "diagnoses"),
                lambda c: c >= len(want),
                timeout=120,
                what="all diagnoses",
            )
            await asyncio.sleep(1.0)  # let any straggling duplicate arrive
            assert await count_rows(engine, "diagnoses") == len(want)
            async with engine.connect() as conn:
                got = {}
                for learner in {e.key for e in events}:
                    for d in await diagnoses_of(conn, learner, limit=500):
                        got[d.answer_event_id] = d
            assert set(got) == set(want)
            for answer_id, d in got.items():
                assert d.fail_mode == want[answer_id]["fail_mode"]
                assert d.evidence == want[answer_id]["evidence"]
    finally:
        proc.terminate()
        proc.wait(30)
        await engine.dispose()
    assert kills == 2
    published = [
        decode(r.value)
        for r in await read_topic(settings, settings.topics().domain(Context.LEARNING))
    ]
    diagnosed = [e for e in published if e.event_type == "failure-diagnosed"]
    # Re-emitted diagnoses after a kill carry the same ids: duplicates on the log, one row each.
    assert {e.event_id for e in diagnosed} == {
        e.event_id for e in diagnosed if e.payload.answer_event_id in want
    }  # type: ignore[attr-defined]
    assert len({e.event_id for e in diagnosed}) == len(want)
    assert "agent.state_rebuilt" in log.read_text()
