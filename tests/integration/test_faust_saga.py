"""The saga primitive on a real faust worker: state and deadlines survive kill -9."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from events import Context, Envelope, decode
from events.drills import BatchCompleted
from services.bus.producer import EventPublisher
from services.settings import Settings
from tests.conftest import PYTHON, child_env
from tests.support.drills import requested
from tests.support.fanin import TIMEOUT_ERROR
from tests.support.helpers import read_topic, wait_until

pytestmark = pytest.mark.integration


class Worker:
    """The fan-in saga as a faust worker process, logging to a file."""

    def __init__(self, settings: Settings, log: Path, timeout_s: float) -> None:
        self.env = child_env(settings, FANIN_TIMEOUT_S=str(timeout_s), NLS_LOG_LEVEL="debug")
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "tests.support.fanin_worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )

    def applied(self) -> int:
        return self.log.read_text(errors="replace").count("saga.applied")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(30)


async def timeouts(settings: Settings, artifact: uuid.UUID) -> list[int]:
    records = await read_topic(settings, settings.topics().domain(Context.DRILLS))
    out = []
    for r in records:
        env = decode(r.value)
        p = env.payload
        if isinstance(p, BatchCompleted) and p.artifact_id == artifact and p.error == TIMEOUT_ERROR:
            out.append(p.batch_index)
    return sorted(out)


async def test_saga_state_and_deadlines_survive_kill_9(settings: Settings, tmp_path: Path) -> None:
    timeout_s = 15.0
    worker = Worker(settings, tmp_path / "worker.log", timeout_s)
    worker.start()
    now = datetime.now(UTC)
    done_art, late_art = uuid.uuid4(), uuid.uuid4()

    def series(artifact: uuid.UUID, total: int) -> tuple[Envelope, list[Envelope]]:
        first = Envelope.new(
            requested(0, total).model_copy(update={"artifact_id": artifact}),
            source="t",
            occurred_at=now,
        )
        rest = [
            first.derive(
                requested(i, total).model_copy(update={"artifact_id": artifact}),
                role=f"r{i}",
                source="t",
            )
            for i in range(1, total)
        ]
        return first, rest

    def completion(parent: Envelope, artifact: uuid.UUID, i: int) -> Envelope:
        return parent.derive(
            BatchCompleted(
                artifact_id=artifact, batch_index=i, success=True, drills_generated=5, retry_count=0
            ),
            role=f"c{i}",
            source="t",
        )

    try:
        async with EventPublisher(settings) as pub:
            a_first, a_rest = series(done_art, 3)
            b_first, b_rest = series(late_art, 2)
            await pub.publish([a_first, *a_rest, b_first, *b_rest])
            await pub.publish([completion(a_first, done_art, 0), completion(a_first, done_art, 1)])
            await pub.publish([completion(b_first, late_art, 0)])
            await wait_until(
                lambda: asyncio.sleep(0, worker.applied()),
                lambda n: n >= 8,
                timeout=60,
                what="8 events applied",
            )
            worker.kill()  # kill -9 with both sagas half-way
            worker.start()
            await pub.publish([completion(a_first, done_art, 2)])
            # The restarted worker knows batches 0 and 1 of each series were reported:
            # series A completes, series B times out with only batch 1 missing.
            await wait_until(
                lambda: timeouts(settings, late_art),
                lambda t: t == [1],
                timeout=timeout_s + 40,
                what="B's timeout",
            )
        await asyncio.sleep(1.0)
        assert await timeouts(settings, done_art) == []
        assert await timeouts(settings, late_art) == [1]
        assert now + timedelta(seconds=timeout_s) <= datetime.now(UTC)
    finally:
        code = worker.stop()
    assert code == 0, "the worker stops cleanly on SIGTERM"
