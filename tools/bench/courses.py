"""Benchmark of course candidates: quality over many rules courses, and wall time through
the broker against simulated model latency.

    python -m tools.bench.courses [--courses 100] [--k 3] [--gen-ms 2000 --review-ms 1000]
                                  [--runs 3] [--llm-concurrency N] [--skip-walls]

- Quality: ``--courses`` rules courses (best of K) across subjects (math at grades
  1-12, the CCNA pack with and without a topic at grades 6-12) run through the
  orchestrator, generator, reviewer and fan-in saga in one process. Reports the
  pass rate (selected with a score >= 0.60; the seed's target >= 80 %, reported
  about 85 %), the 422 rate (needs_attention), failures, and arithmetic
  correctness: every arithmetic item of every selected course re-checked by the
  exact checker (target 100 %).
- Wall time: K = 1..5 candidates through the embedded broker and Postgres, the
  platform's workers as processes (``nls agent run``: the orchestrator, the
  candidate and review workers on faust, the fan-in saga, the projector), the llm
  strategy through the real anthropic SDK against a local fake server. Fault
  injection (``NLS_LLM_FAULTS=latency_ms=...``) makes every generation take G ms
  (the candidate worker) and every review R ms (the review worker). Measured from
  publishing ``course-requested`` to ``SELECTED`` in the ``courses`` read model;
  reported as wall / (G + R) per K (target <= 1.2 for K = 3). ``--llm-concurrency``
  sets ``NLS_LLM_CONCURRENCY`` for the workers (unset: the family asks for a call
  in flight per candidate it takes at once, ``NLS_COURSE_CONCURRENCY``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import ProgrammingError

from events import Envelope
from events.courses import CourseRequested, CourseSelected
from projections.courses import course_of
from projections.db import make_engine
from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.courses.checks import check_math
from services.courses.facts import FactBank, is_math
from services.courses.inprocess import InProcessCourses
from services.courses.settings import DEFAULT_PACKS, CourseSettings
from services.courses.simulated import GOOD_REVIEW
from services.generation import Gateway
from services.logging import configure_logging
from services.settings import Settings
from tools.bench.common import bench_settings, start_workers, stop_workers
from tools.devstack.provision import broker, database
from tools.fakellm import FakeLLM, data_of
from tools.fakellm.simulated import simulated_model

__all__ = [
    "GOOD_REVIEW",
    "Quality",
    "broker_wall_times",
    "quality",
    "simulated_model",
]

console = Console()
CLUSTERS = (None, "routing", "switching", "ipv4-addressing", "fhrp", "security", "wireless")


@dataclass
class Quality:
    courses: int = 0
    selected: int = 0
    passed: int = 0  # selected with a score >= 0.60
    needs_attention: int = 0
    failed: int = 0
    scores: list[float] = field(default_factory=list)
    math_items: int = 0
    math_checked: int = 0
    math_correct: int = 0
    issues: Counter[str] = field(default_factory=Counter)
    too_similar: int = 0  # courses with the "Candidates too similar" warning
    seconds: float = 0.0


def _requests(n: int, k: int) -> list[CourseRequested]:
    out = []
    for i in range(n):
        if i % 2 == 0:
            subject, grade, topic = "math", 1 + (i // 2) % 12, None
        else:
            subject, grade, topic = "ccna", 6 + (i // 2) % 7, CLUSTERS[(i // 2) % len(CLUSTERS)]
        out.append(
            CourseRequested(
                course_id=uuid.uuid4(),
                subject=subject,
                grade=grade,
                topic=topic,
                candidate_count=k,
                strategy="rules",
            )
        )
    return out


async def quality(n: int, k: int, facts: FactBank) -> Quality:
    q = Quality()
    settings = CourseSettings(use_candidates=True, candidate_count=k, course_strategy="rules")
    started = time.perf_counter()
    for request in _requests(n, k):
        flow = InProcessCourses(Gateway(), settings, facts)
        run = await flow.run(Envelope.new(request, source="bench"))
        q.courses += 1
        outcome = run.outcome.payload
        for scored in run.of_type("candidate-scored"):
            for issue in scored.payload.issues:  # type: ignore[attr-defined]
                item, _, rest = issue.partition(": ")
                q.issues[rest.partition(":")[0]] += 1
        if isinstance(outcome, CourseSelected):
            q.too_similar += any(w.startswith("Candidates too similar") for w in outcome.warnings)
            q.selected += 1
            q.scores.append(outcome.selected_score)
            q.passed += outcome.selected_score >= 0.60
            if is_math(request.subject):
                for _, item in outcome.course.items():
                    q.math_items += 1
                    checks = [c for c in check_math(item) if c.status != "unchecked"]
                    q.math_checked += bool(checks)
                    q.math_correct += bool(checks) and all(c.status == "correct" for c in checks)
        elif run.outcome.event_type == "course-needs-attention":
            q.needs_attention += 1
        else:
            q.failed += 1
    q.seconds = time.perf_counter() - started
    return q


# Wall time through the broker -----------------------------------------------------------------
def _llm_env(model: FakeLLM, latency_ms: float, concurrency: int | None) -> dict[str, str]:
    env = {
        "ANTHROPIC_API_KEY": "bench",
        "ANTHROPIC_BASE_URL": model.url,
        "ANTHROPIC_MODEL": "claude-haiku-4-5",
        "NLS_LLM_FAULTS": f"latency_ms={latency_ms:g},seed=1",
        "NLS_LLM_TIMEOUT_S": str(max(30.0, latency_ms * 3 / 1000)),
    }
    if concurrency is not None:
        env["NLS_LLM_CONCURRENCY"] = str(concurrency)
    return env


async def _course_walls(settings: Settings, ks: list[int], runs: int) -> dict[int, list[float]]:
    """Per K, the wall times (ms) of ``runs`` courses, one at a time, after a warm-up."""
    engine = make_engine(settings, read_only=True)
    out: dict[int, list[float]] = {}
    try:
        async with EventPublisher(settings, client_id="bench") as pub:

            async def one(k: int, grade: int) -> float:
                request = CourseRequested(
                    course_id=uuid.uuid4(),
                    subject="math",
                    grade=grade,
                    candidate_count=k,
                    strategy="llm",
                )
                started = time.perf_counter()
                await pub.publish([Envelope.new(request, source="bench")])
                status = await _finished(engine, request.course_id, timeout=300)
                if status != "SELECTED":
                    raise RuntimeError(f"K={k}: course {request.course_id} ended {status}")
                return (time.perf_counter() - started) * 1000

            await one(max(ks), 1)  # warm-up: consumer groups joined, tables made
            for k in ks:
                out[k] = [await one(k, 1 + (k * runs + i) % 12) for i in range(runs)]
    finally:
        await engine.dispose()
    return out


async def _finished(engine: Any, course_id: uuid.UUID, *, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with engine.connect() as conn:
                view = await course_of(conn, course_id)
        except ProgrammingError as exc:  # the projector has not made its tables yet
            if "does not exist" not in str(exc):
                raise
            view = None
        if view is not None and view.status != "GENERATING":
            return view.status
        if time.monotonic() > deadline:
            raise TimeoutError(f"course {course_id} not finished within {timeout:g}s")
        await asyncio.sleep(0.01)


def broker_wall_times(
    ks: list[int], gen_ms: float, review_ms: float, runs: int, concurrency: int | None
) -> tuple[dict[int, list[float]], Counter[str], str]:
    """Wall times per K through the broker and the workers, the model calls by task, and
    where the broker and database came from."""
    with ExitStack() as stack:
        kafka = stack.enter_context(broker())
        pg = stack.enter_context(database())
        model = stack.enter_context(FakeLLM("anthropic", responder=simulated_model))
        settings = bench_settings(kafka, pg, "crs").with_section(
            CourseSettings, course_strategy="llm"
        )
        asyncio.run(ensure_topics(settings))
        procs = start_workers(
            settings, [["course-candidates"]], _llm_env(model, gen_ms, concurrency)
        )
        procs += start_workers(
            settings, [["course-reviews"]], _llm_env(model, review_ms, concurrency)
        )
        procs += start_workers(
            settings,
            [["course-orchestrator"], ["course-selection"], ["projector", "-p", "courses"]],
        )
        try:
            walls = asyncio.run(_course_walls(settings, ks, runs))
        finally:
            stop_workers(procs)
        calls: Counter[str] = Counter(
            "course-review" if "candidate" in data_of(body) else "course-candidate"
            for body in model.requests
        )
        # K generations and K reviews per course (the warm-up's too), nothing else.
        per_task = max(ks) + runs * sum(ks)
        if calls != Counter({"course-candidate": per_task, "course-review": per_task}):
            raise RuntimeError(f"unexpected model calls {dict(calls)}, {per_task} each expected")
        return walls, calls, f"broker: {kafka.origin}, postgres: {pg.origin}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=100)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--gen-ms", type=float, default=2000.0)
    parser.add_argument("--review-ms", type=float, default=1000.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--llm-concurrency", type=int, default=None)
    parser.add_argument("--skip-walls", action="store_true", help="the quality figures only")
    args = parser.parse_args()
    facts = FactBank.load(DEFAULT_PACKS / "ccna")
    configure_logging("warning")
    console.print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )

    q = asyncio.run(quality(args.courses, args.k, facts))
    table = Table("measure", "value", title=f"quality: {q.courses} rules courses, K={args.k}")
    table.add_row("pass rate (selected, score >= 0.60)", f"{q.passed / q.courses:.1%}")
    table.add_row("422 rate (needs_attention)", f"{q.needs_attention / q.courses:.1%}")
    table.add_row("failed", f"{q.failed / q.courses:.1%}")
    if q.scores:
        table.add_row(
            "selected score: mean / min", f"{statistics.fmean(q.scores):.3f} / {min(q.scores):.3f}"
        )
    checked = f"{q.math_correct}/{q.math_checked} correct, {q.math_checked}/{q.math_items} checked"
    table.add_row("arithmetic items", checked)
    table.add_row("courses with similar candidates (> 0.85)", str(q.too_similar))
    table.add_row("time per course (in process)", f"{q.seconds / q.courses * 1000:.0f} ms")
    for check, count in q.issues.most_common(5):
        table.add_row(f"deductions: {check}", str(count))
    console.print(table)
    if args.skip_walls:
        return

    ks = [1, 2, 3, 4, 5]
    walls, calls, origin = broker_wall_times(
        ks, args.gen_ms, args.review_ms, args.runs, args.llm_concurrency
    )
    budget = args.gen_ms + args.review_ms
    concurrency = args.llm_concurrency or "unset (the family's)"
    wt = Table(
        "K",
        "runs",
        "wall ms (median)",
        "wall ms (max)",
        "wall / (G + R)",
        title=f"through the broker, G={args.gen_ms:g} ms, R={args.review_ms:g} ms, "
        f"NLS_LLM_CONCURRENCY {concurrency}",
    )
    for k in ks:
        ws = walls[k]
        median = statistics.median(ws)
        wt.add_row(
            str(k), str(len(ws)), f"{median:.0f}", f"{max(ws):.0f}", f"{median / budget:.2f}"
        )
    console.print(origin)
    console.print(wt)
    console.print(f"model calls: {dict(sorted(calls.items()))}")


if __name__ == "__main__":
    main()
