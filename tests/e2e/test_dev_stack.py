"""``nls dev up`` end to end: the supervised stack, the CLI against it, restarts, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from services.content.pack import concept_uuid
from tests.conftest import PYTHON, ROOT
from tools.devstack.broker import free_port
from tools.devstack.provision import DatabaseInfo

pytestmark = pytest.mark.e2e


def children_of(pid: int, needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and needle in cmd:
            found.append(int(entry.name))
    return found


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# Twenty processes on two cores, and some twenty CLI runs that start Python each: its own
# waits bound each step, and the whole may take longer than the suite's five minutes.
@pytest.mark.timeout(600)
def test_dev_stack_runs_the_platform_and_the_cli_operates_it(
    postgres: DatabaseInfo, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"KAFKA_BOOTSTRAP_SERVERS", "NLS_API_TOKEN"}
    } | {
        "DATABASE_URL": postgres.url,
        "NLS_DB_SCHEMA": f"dev{tag}",
        "NLS_TOPIC_PREFIX": f"dev{tag}",
        "NLS_STATE_DIR": str(tmp_path / "state"),
        "NLS_API_PORT": str(port),
        "NLS_LOG_LEVEL": "info",
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path / "stack.log").open("wb")
    stack = subprocess.Popen(
        [PYTHON, "-m", "tools.cli", "dev", "up"], env=env, stdout=log, stderr=log, cwd=tmp_path
    )

    def nls(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [PYTHON, "-m", "tools.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    try:
        stack_env = tmp_path / "state" / "stack.env"
        wait_for(stack_env.exists, 60, "stack.env")
        values = dict(line.split("=", 1) for line in stack_env.read_text().splitlines())
        assert values["NLS_BROKER_FLAVOUR"] == "tansu"
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _healthy(base), 90, "the API")

        concept = str(uuid.uuid4())
        answers = [
            {
                "event_type": "answer-submitted",
                "payload": {
                    "learner_id": "cli-learner",
                    "session_id": "s1",
                    "concept_id": concept,
                    "question_id": f"q{i}",
                    "correct": False,
                    "response_time_ms": 5000,
                    "answer_given": "x",
                },
            }
            for i in range(3)
        ]
        (tmp_path / "answers.jsonl").write_text("\n".join(json.dumps(a) for a in answers))
        assert "published 3 event(s)" in nls("publish", "answers.jsonl").stdout

        def diagnoses() -> list[dict[str, object]]:
            out = nls("query", "diagnoses", "--learner", "cli-learner", "--json").stdout
            return list(json.loads(out))

        rows = wait_for(lambda: len(diagnoses()) == 3 and diagnoses(), 60, "3 diagnoses")
        assert {r["evidence"]["rule"] for r in rows} == {
            "encoding.first_miss",
            "encoding.repeated_misses",
        }  # type: ignore[index]
        table = nls("query", "diagnoses", "--learner", "cli-learner").stdout
        assert "encoding_error" in table

        before = nls("projections", "checksum").stdout
        replay = nls("replay")
        assert "learning" in replay.stdout and "swapped in" in replay.stdout
        assert nls("projections", "checksum").stdout == before

        # A crashed worker is restarted by the supervisor.
        [diagnoser] = wait_for(
            lambda: children_of(stack.pid, "agent run diagnoser"), 30, "diagnoser"
        )
        os.kill(diagnoser, signal.SIGKILL)
        wait_for(
            lambda: [p for p in children_of(stack.pid, "agent run diagnoser") if p != diagnoser],
            30,
            "restart",
        )
        (tmp_path / "more.json").write_text(
            json.dumps(answers[0] | {"payload": answers[0]["payload"] | {"question_id": "q-after"}})
        )
        nls("publish", "more.json")
        wait_for(lambda: len(diagnoses()) == 4, 90, "the diagnosis after the restart")
        assert "dev_up" not in nls("dlq", "list").stderr

        # The JIT flow on the faust worker: a wrong answer on a concept without atoms
        # gets 5 atoms generated just in time.
        assert "published" in nls("content", "import", str(ROOT / "packs" / "ccna")).stdout
        bare = str(concept_uuid("ccna", "class-a"))  # a concept the pack gives no atoms
        wait_for(lambda: "class-a" in nls("generate", "gaps", "-n").stdout, 60, "concepts")
        jit_answer = answers[0] | {
            "payload": answers[0]["payload"] | {"learner_id": "jit-learner", "concept_id": bare}
        }
        (tmp_path / "jit.json").write_text(json.dumps(jit_answer))
        nls("publish", "jit.json")

        def jit_atoms() -> int:
            out = nls("generate", "stats").stdout
            line = next(x for x in out.splitlines() if "Failed question" in x)
            return int(line.split("│")[2].strip())

        wait_for(lambda: jit_atoms() == 5, 120, "5 atoms generated by the faust JIT worker")
    finally:
        stack.send_signal(signal.SIGTERM)
        code = stack.wait(60)
        log.close()
    text = (tmp_path / "stack.log").read_text(errors="replace")
    assert code == 0, text[-3000:]
    assert "supervisor.child_exited" in text and "supervisor.stopped" in text
    assert children_of(stack.pid, "tools.cli") == []
    assert not (tmp_path / "state" / "stack.env").exists()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
