"""A worker's metrics endpoint and heartbeat, and the health check that reads them.

In the compose deployment each worker runs in its own container, so the
multiprocess directory the dev stack shares (``PROMETHEUS_MULTIPROC_DIR``)
would be one directory per container, and its files are named by process id,
which is 1 in every container. Instead a worker with ``NLS_METRICS_PORT`` set
serves its own ``/metrics``; Prometheus finds every replica of every agent
through the compose network's DNS and scrapes each one.

The same endpoint carries ``nls_worker_heartbeat_seconds``, set by a task on
the worker's event loop every few seconds. ``python -m services.runtime.probe``
(the containers' health check) fetches it and fails when the endpoint does not
answer or the heartbeat is older than ``--max-age``: a worker whose loop is
stuck is unhealthy even though its process and HTTP thread still run.
``--url`` checks that a URL answers 2xx instead (the API's ``/healthz``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge, start_http_server
from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "HEARTBEAT",
    "HEARTBEAT_S",
    "MAX_AGE_S",
    "Verdict",
    "WorkerProbe",
    "beating",
    "check_heartbeat",
    "check_url",
    "heartbeat_age",
    "main",
]

HEARTBEAT = Gauge(
    "nls_worker_heartbeat_seconds",
    "When the worker's event loop last ran its heartbeat (unix time)",
    ["agent"],
)
HEARTBEAT_S = 5.0
MAX_AGE_S = 30.0


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: str


class WorkerProbe:
    """Serves ``/metrics`` on ``port`` and sets the heartbeat from the worker's loop."""

    def __init__(self, agent: str, port: int, *, interval_s: float = HEARTBEAT_S) -> None:
        self.agent = agent
        self.port = port
        self.interval_s = interval_s
        self._server: Any = None

    @classmethod
    def start_for(cls, agent: str, settings: Any) -> WorkerProbe | None:
        """The probe of a worker when ``settings.metrics_port`` is set, already serving."""
        if settings.metrics_port is None:
            return None
        probe = cls(agent, settings.metrics_port)
        probe.serve()
        return probe

    def serve(self, host: str = "0.0.0.0") -> None:
        # A daemon thread: it answers while the loop runs, the heartbeat says whether it does.
        self._server, _ = start_http_server(self.port, addr=host)
        self.beat()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def beat(self, now: float | None = None) -> None:
        HEARTBEAT.labels(self.agent).set(time.time() if now is None else now)

    async def tick(self) -> None:
        """One heartbeat from the loop (a faust timer calls this)."""
        self.beat()

    def beat_in(self, app: Any) -> None:
        """Register the heartbeat as a timer of a faust app (before its worker starts)."""
        app.timer(self.interval_s, name=f"{self.agent}-heartbeat")(self.tick)

    async def run(self) -> None:
        """Beat every ``interval_s`` until cancelled."""
        while True:
            self.beat()
            await asyncio.sleep(self.interval_s)


async def beating(probe: WorkerProbe | None, main: Awaitable[None]) -> None:
    """Run ``main`` (a batched worker) with the probe's heartbeat beside it."""
    if probe is None:
        await main
        return
    beats = asyncio.create_task(probe.run())
    try:
        await main
    finally:
        beats.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beats


def heartbeat_age(metrics_text: str, now: float) -> float | None:
    """Seconds since the newest heartbeat in a ``/metrics`` page (None: none there)."""
    beats = [
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        if family.name == "nls_worker_heartbeat_seconds"
        for sample in family.samples
    ]
    return now - max(beats) if beats else None


def _get(url: str, timeout_s: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


Fetch = Callable[[str, float], tuple[int, str]]


def check_heartbeat(
    port: int,
    *,
    max_age_s: float = MAX_AGE_S,
    now: float | None = None,
    fetch: Fetch = _get,
    timeout_s: float = 3.0,
) -> Verdict:
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        status, text = fetch(url, timeout_s)
    except OSError as exc:
        return Verdict(False, f"{url} does not answer: {exc}")
    if status != 200:
        return Verdict(False, f"{url} answered {status}")
    age = heartbeat_age(text, time.time() if now is None else now)
    if age is None:
        return Verdict(False, f"{url} has no heartbeat: the worker has not started its loop")
    if age > max_age_s:
        return Verdict(False, f"the last heartbeat is {age:.0f} s old (limit {max_age_s:.0f} s)")
    return Verdict(True, f"heartbeat {age:.1f} s ago")


def check_url(url: str, *, fetch: Fetch = _get, timeout_s: float = 3.0) -> Verdict:
    try:
        status, _ = fetch(url, timeout_s)
    except OSError as exc:
        return Verdict(False, f"{url} does not answer: {exc}")
    return Verdict(200 <= status < 300, f"{url} answered {status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.runtime.probe",
        description="Exit 0 when this container's worker (or --url) is healthy.",
    )
    parser.add_argument("--port", type=int, help="the worker's metrics port (NLS_METRICS_PORT)")
    parser.add_argument("--max-age", type=float, default=MAX_AGE_S, help="seconds")
    parser.add_argument("--url", help="check that this URL answers 2xx instead")
    args = parser.parse_args(argv)
    if args.url:
        verdict = check_url(args.url)
    else:
        port = args.port
        if port is None:
            from services.settings import Settings

            port = Settings().metrics_port
        if port is None:
            print("unhealthy: no --port and NLS_METRICS_PORT is not set", file=sys.stderr)
            return 1
        verdict = check_heartbeat(port, max_age_s=args.max_age)
    print(("healthy: " if verdict.healthy else "unhealthy: ") + verdict.reason)
    return 0 if verdict.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
