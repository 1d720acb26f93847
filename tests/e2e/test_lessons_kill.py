"""kill -9 the lesson phase worker mid-pipeline: after a restart the lesson completes, no
completed phase is asked of the model again, and the read model has each phase once.

The phase worker runs as its own process (``nls agent run lesson-phases``, a faust
worker) with the llm strategy through the real anthropic SDK against the fake server,
every model call slowed by fault injection; the pipeline saga, the scorer, the
rewriter and the projector run in this process. The fake server counts the calls of
each task: a phase completed before the kill is called once in all; only a phase
that was with the worker at the kill may be called a second time.
"""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from events import Context, decode
from events.lessons import LessonPhase, LessonPhaseCompleted, LessonPhaseRequested
from projections.db import make_engine
from services.generation import Gateway
from services.generation.anthropic_provider import AnthropicProvider
from services.settings import Settings
from tests.conftest import PYTHON, ROOT, child_env
from tests.support.helpers import background, query_rows, read_topic, wait_until
from tests.support.lessons import LessonModel, api_client, finished, lesson_agents
from tools.fakellm import FakeLLM

pytestmark = pytest.mark.e2e

LESSON = "kill-ohm"
PHASES = [p for p in LessonPhase if p is not LessonPhase.REWRITE]


def task_of(phase: LessonPhase) -> str:
    return f"lesson-{phase.value.replace('_', '-')}"


def worker(settings: Settings, model: FakeLLM, log: Path) -> subprocess.Popen[bytes]:
    env = child_env(
        settings,
        ANTHROPIC_API_KEY="test",
        ANTHROPIC_BASE_URL=model.url,
        NLS_LLM_FAULTS="latency_ms=1500,seed=1",
    )
    return subprocess.Popen(
        [PYTHON, "-m", "tools.cli", "agent", "run", "lesson-phases"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def phase_rows(engine: object) -> list[tuple[str, str]]:
    rows = await query_rows(
        engine, f"SELECT phase, status FROM lesson_phases WHERE lesson_id = '{LESSON}'"
    )
    return [(r[0], r[1]) for r in rows]


async def in_log(
    settings: Settings, kind: type[LessonPhaseCompleted | LessonPhaseRequested]
) -> dict[LessonPhase, set[uuid.UUID]]:
    """The event ids of each phase's requests or completions in the log."""
    found: dict[LessonPhase, set[uuid.UUID]] = {}
    for record in await read_topic(settings, settings.topics().domain(Context.LESSONS)):
        event = decode(record.value)
        if isinstance(event.payload, kind) and event.key == LESSON:
            found.setdefault(event.payload.phase, set()).add(event.event_id)
    return found


async def test_a_killed_phase_worker_resumes_without_repeating_a_completed_phase(
    settings: Settings, tmp_path: Path
) -> None:
    model = LessonModel()
    engine = make_engine(settings)
    log = tmp_path / "worker.log"
    with FakeLLM("anthropic", responder=model) as fake:
        # scorer and rewriter in this process, on the same fake model, without latency
        gateway = Gateway(
            [AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=fake.url)]
        )
        first = worker(settings, fake, log)
        second: subprocess.Popen[bytes] | None = None
        try:
            async with (
                background(*lesson_agents(settings, gateway, without="lesson-phases")),
                api_client(settings) as api,
            ):
                body = {
                    "pack": "cg2365",
                    "topic": "ohms-law",
                    "prerequisites": ["electrical-power"],
                    "strategy": "llm",
                    "lessonId": LESSON,
                }
                assert (await api.post("/v1/lessons", json=body)).status_code == 202

                # Planning, vocabulary and spaced review done; the next layer with the
                # worker (each call takes 1.5 s): kill it there.
                def mid_pipeline(rows: list[tuple[str, str]]) -> bool:
                    done = sum(s == "completed" for _, s in rows)
                    waiting = sum(s == "requested" for _, s in rows)
                    return done >= 3 and waiting >= 1

                try:
                    at_kill = await wait_until(
                        lambda: phase_rows(engine),
                        mid_pipeline,
                        timeout=120,
                        interval=0.05,
                        what="phases with the worker",
                    )
                except AssertionError as exc:
                    raise AssertionError(f"{exc}\nworker: {log.read_text()[-3000:]}") from None
                first.kill()
                first.wait()
                done_at_kill = set(await in_log(settings, LessonPhaseCompleted))
                asked_at_kill = set(await in_log(settings, LessonPhaseRequested))
                calls_at_kill = model.tasks(LESSON)
                second = worker(settings, fake, log)
                view = await finished(api, LESSON, timeout=180)
            rows = await phase_rows(engine)
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(30)
            await engine.dispose()
        calls = model.tasks(LESSON)
    assert view["status"] == "completed", log.read_text()[-3000:]

    # The kill was mid-pipeline: some phases done before it, the rest after the restart.
    assert {LessonPhase.PLANNING, LessonPhase.VOCABULARY} <= done_at_kill
    assert done_at_kill < set(PHASES), done_at_kill
    in_flight = asked_at_kill - done_at_kill
    assert in_flight, at_kill  # something was with the worker at the kill

    # Each phase called once; only one with the worker at the kill may be called twice.
    for phase in PHASES:
        n = calls[task_of(phase)]
        if phase in in_flight:
            assert 1 <= n <= 2 and calls_at_kill[task_of(phase)] <= 1, (phase, calls)
        else:
            assert n == 1, (phase, calls)
    # Each phase completed once: one event id in the log (a phase made again after the
    # kill re-emits the id of its first completion), one row in the read model.
    logged = await in_log(settings, LessonPhaseCompleted)
    assert {p: len(ids) for p, ids in logged.items()} == dict.fromkeys(LessonPhase, 1)
    assert Counter(r[0] for r in rows) == Counter(p.value for p in LessonPhase)
    assert {s for _, s in rows} == {"completed"}
    assert sorted(rows) == sorted((p["phase"], p["status"]) for p in view["phases"])
