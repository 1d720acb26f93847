"""The simulated model served by a process of its own (``python -m tools.fakellm``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["serve_simulated"]

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serve_simulated(flavour: str = "anthropic", *, latency_ms: float = 0.0) -> Iterator[str]:
    """Start the simulated model; yields its base URL, stops it on exit."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.fakellm",
            "--flavour",
            flavour,
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the simulated model did not start (exit code {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
