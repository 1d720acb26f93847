"""A worker's metrics endpoint and heartbeat, and the container health check reading them."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator

import pytest

from services.runtime.faust_app import build_app
from services.runtime.metrics import EVENTS_CONSUMED
from services.runtime.probe import WorkerProbe, beating, check_heartbeat, main
from services.settings import Settings
from tests.conftest import PYTHON, ROOT
from tools.devstack.broker import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def probe() -> Iterator[WorkerProbe]:
    started = WorkerProbe.start_for("probe-test", Settings(metrics_port=free_port()))
    assert started is not None
    yield started
    started.close()


def test_a_worker_serves_its_metrics_and_a_fresh_heartbeat(probe: WorkerProbe) -> None:
    EVENTS_CONSUMED.labels("probe-test", "nls.learning").inc(3)
    verdict = check_heartbeat(probe.port)
    assert verdict.healthy, verdict.reason
    assert main(["--port", str(probe.port)]) == 0
    probe.beat(now=time.time() - 120)  # a loop that stopped two minutes ago
    stale = check_heartbeat(probe.port, max_age_s=30)
    assert not stale.healthy and "old" in stale.reason
    assert main(["--port", str(probe.port), "--max-age", "30"]) == 1


def test_the_container_health_check_command(probe: WorkerProbe) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-m", "services.runtime.probe", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    ok = run("--port", str(probe.port))
    assert ok.returncode == 0 and ok.stdout.startswith("healthy"), ok.stdout + ok.stderr
    closed = run("--port", str(free_port()))
    assert closed.returncode == 1 and "does not answer" in closed.stdout
    no_port = run()
    assert no_port.returncode == 1 and "NLS_METRICS_PORT" in no_port.stderr


async def test_the_heartbeat_runs_beside_a_batched_worker(probe: WorkerProbe) -> None:
    probe.interval_s = 0.05
    probe.beat(now=0.0)

    async def worker() -> None:
        await asyncio.sleep(0.3)

    await beating(probe, worker())
    assert check_heartbeat(probe.port, max_age_s=5).healthy


async def test_a_faust_worker_beats_from_a_timer(probe: WorkerProbe) -> None:
    app = build_app(Settings(kafka_bootstrap_servers="b:9092"), "probe-test")
    tasks = list(app._app_tasks)  # what the worker starts beside its agents
    probe.interval_s = 0.05
    probe.beat_in(app)
    [timer] = [t for t in app._app_tasks if t not in tasks]
    probe.beat(now=0.0)
    running = asyncio.ensure_future(timer())
    try:
        deadline = time.monotonic() + 10
        while not check_heartbeat(probe.port, max_age_s=5).healthy:
            assert time.monotonic() < deadline, "the faust timer never beat"
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
