"""kill -9 the candidate worker while candidates are with the model: after a restart the
course completes exactly once, with each of its K candidates scored once."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from events import Context, Envelope, decode
from events.courses import (
    CandidateScored,
    CourseCandidateGenerated,
    CourseRequested,
    CourseSelected,
)
from projections.db import make_engine
from services.bus.producer import EventPublisher
from services.generation import Gateway
from services.generation.anthropic_provider import AnthropicProvider
from services.settings import Settings
from tests.conftest import PYTHON, ROOT, child_env
from tests.support.courses import course_agents, finished_course
from tests.support.helpers import query_rows, read_topic, wait_until
from tools.fakellm import FakeLLM
from tools.fakellm.simulated import simulated_model

pytestmark = pytest.mark.e2e

K = 3


def worker(settings: Settings, model: FakeLLM, log: Path) -> subprocess.Popen[bytes]:
    """`nls agent run course-candidates` on the llm strategy, each call 0.5-3.5 s slow."""
    env = child_env(
        settings,
        ANTHROPIC_API_KEY="test",
        ANTHROPIC_BASE_URL=model.url,
        NLS_LLM_FAULTS="latency_ms=2000,jitter_ms=1500,seed=1",
    )
    return subprocess.Popen(
        [PYTHON, "-m", "tools.cli", "agent", "run", "course-candidates"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def course_events(settings: Settings, course_id: uuid.UUID) -> list[Envelope]:
    records = await read_topic(settings, settings.topics().domain(Context.COURSES))
    events = [decode(r.value) for r in records]
    return [e for e in events if getattr(e.payload, "course_id", None) == course_id]


async def test_a_killed_candidate_worker_completes_the_course_exactly_once(
    settings: Settings, tmp_path: Path
) -> None:
    request = CourseRequested(
        course_id=uuid.uuid4(), subject="math", grade=5, candidate_count=K, strategy="llm"
    )
    course_id = request.course_id
    engine = make_engine(settings)
    log = tmp_path / "worker.log"
    with FakeLLM("anthropic", responder=simulated_model) as model:
        reviews = Gateway(
            [AnthropicProvider(api_key="k", model="claude-haiku-4-5", base_url=model.url)]
        )
        first = worker(settings, model, log)
        try:
            # Everything else in this process: orchestrator, reviews, fan-in, projector.
            async with course_agents(settings, reviews, skip=("course-candidates",)):
                async with EventPublisher(settings) as pub:
                    await pub.publish([Envelope.new(request, source="test")])

                async def model_calls() -> int:
                    return len(model.requests)

                # The first candidate is back from the model, the others are still out.
                await wait_until(
                    model_calls, lambda n: n >= 1, timeout=90, what="a candidate at the model"
                )
                first.kill()
                first.wait()
                at_kill = [
                    e for e in await course_events(settings, course_id)
                    if isinstance(e.payload, CourseCandidateGenerated)
                ]  # fmt: skip
                second = worker(settings, model, log)
                try:
                    view, candidates = await finished_course(engine, course_id, timeout=180)
                finally:
                    second.terminate()
                    second.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
        rows = await query_rows(
            engine,
            "SELECT candidate_index, attempt, count(*) FROM course_candidates "
            f"WHERE course_id = '{course_id}' GROUP BY candidate_index, attempt "
            "ORDER BY candidate_index",
        )
        folded = await query_rows(
            engine,
            "SELECT count(*), count(DISTINCT event_id) FROM course_events "
            f"WHERE course_id = '{course_id}'",
        )
    await engine.dispose()
    events = await course_events(settings, course_id)

    # The kill landed while candidates were in flight.
    assert len({e.event_id for e in at_kill}) < K, log.read_text()[-2000:]
    assert view.status == "SELECTED", (view, log.read_text()[-2000:])
    assert view.summary.candidate_count == K and view.summary.selected_score is not None
    assert not [w for w in view.warnings if "failed" in w or "deadline" in w]
    # One course-selected record in the log: the course completed once.
    assert [e.event_type for e in events].count(CourseSelected.event_type) == 1
    # K candidate-scored events, each under one event id (a candidate redone after the
    # kill re-emits its events under the same ids).
    scored: dict[int, set[uuid.UUID]] = {}
    for e in events:
        if isinstance(e.payload, CandidateScored):
            scored.setdefault(e.payload.candidate_index, set()).add(e.event_id)
    assert sorted(scored) == list(range(K)) and all(len(ids) == 1 for ids in scored.values())
    # The read model's candidate rows, each once; every distinct event folded once.
    assert [tuple(r) for r in rows] == [(i, 0, 1) for i in range(K)]
    assert [c.status for c in candidates].count("SELECTED") == 1
    assert {c.status for c in candidates} <= {"SCORED", "SELECTED"}
    assert tuple(folded[0]) == (len({e.event_id for e in events}),) * 2
