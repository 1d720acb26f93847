"""`nls llm check` without keys, with a provider that answers and one that does not."""

from __future__ import annotations

import os
import socket
import subprocess

import orjson
import pytest

from tests.conftest import PYTHON, ROOT
from tools.fakellm import FakeLLM, data_of

pytestmark = pytest.mark.e2e

_LLM_VARS = ("ANTHROPIC", "GEMINI", "GOOGLE", "NLS_LLM")


def check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_LLM_VARS)}
    return subprocess.run(
        [PYTHON, "-m", "tools.cli", "llm", "check", "--timeout", "5"],
        env={**clean, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_keys_auto_means_rules() -> None:
    result = check()
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("no API key") == 2
    assert "strategy auto resolves to: rules (no provider)" in result.stdout


def test_with_keys_each_provider_is_asked() -> None:
    with FakeLLM("anthropic") as fake:
        fake.responder = lambda body: orjson.dumps(
            {"status": "ok", "echo": data_of(body)["nonce"]}
        ).decode()
        result = check(
            ANTHROPIC_API_KEY="sk-test",
            ANTHROPIC_BASE_URL=fake.url,
            ANTHROPIC_MODEL="claude-haiku-4-5",
            GEMINI_API_KEY="g-test",
            NLS_LLM_GEMINI_BASE_URL=f"http://127.0.0.1:{closed_port()}",
            NLS_LLM_MAX_RETRIES="0",
            NLS_LLM_FAULTS="latency_ms=50,seed=3",
        )
    assert result.returncode == 1, result.stdout + result.stderr  # gemini does not answer
    lines = {
        line.split("│")[1].strip(): line
        for line in result.stdout.splitlines()
        if line.count("│") > 3 and line.split("│")[1].strip() in ("anthropic", "gemini")
    }
    assert "yes" in lines["anthropic"] and "claude-haiku-4-5" in lines["anthropic"]
    assert "no" in lines["gemini"].split("│")[5] and "provider_error" in lines["gemini"]
    assert "fault injection on: latency_ms=50,seed=3" in result.stdout
    assert "strategy auto resolves to: llm (anthropic)" in result.stdout
    assert "sk-test" not in result.stdout + result.stderr  # keys are never printed
    assert fake.requests and "sk-test" not in str(fake.requests[0])


def test_a_bad_fault_spec_is_named() -> None:
    result = check(NLS_LLM_FAULTS="slow=1")
    assert result.returncode == 1 and "unknown fault 'slow'" in result.stderr
