"""What the benchmarks share: settings of their own on the shared broker and database,
and the platform's workers started as processes against them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from services.settings import Settings

__all__ = ["ROOT", "bench_settings", "start_workers", "stop_workers"]

ROOT = Path(__file__).resolve().parents[2]


def bench_settings(kafka: Any, pg: Any, prefix: str) -> Settings:
    """Fresh topics and schema, so runs never see each other's events or rows."""
    tag = f"{prefix}{uuid.uuid4().hex[:6]}"
    return Settings(
        kafka_bootstrap_servers=kafka.bootstrap,
        broker_flavour=kafka.flavour,
        database_url=pg.url,
        topic_prefix=tag,
        db_schema=tag,
        api_token=SecretStr("bench"),
    )


def start_workers(
    settings: Settings, agents: Sequence[Sequence[str]], env: dict[str, str] | None = None
) -> list[subprocess.Popen[bytes]]:
    """One ``nls agent run ...`` process per entry (the agent name, then its options)."""
    quiet = settings.model_copy(update={"log_level": "warning"})
    child = dict(os.environ) | quiet.child_env() | {"PYTHONPATH": str(ROOT)} | (env or {})
    return [
        subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "agent", "run", *agent],
            env=child,
            stdout=subprocess.DEVNULL,  # the bench prints its own tables
        )
        for agent in agents
    ]


def stop_workers(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)
