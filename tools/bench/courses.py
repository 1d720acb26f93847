"""Benchmark of course candidates: quality over many rules courses, and wall time
against simulated model latency.

    python -m tools.bench.courses [--courses 100] [--k 3] [--gen-ms 1000 --review-ms 500]

- Quality: ``--courses`` rules courses (best of K) across subjects (math at grades
  1-12, the CCNA pack with and without a topic at grades 6-12) run through the
  orchestrator, generator, reviewer and fan-in saga in one process. Reports the
  pass rate (selected with a score >= 0.60; the seed's target >= 80 %, reported
  about 85 %), the 422 rate (needs_attention), failures, and arithmetic
  correctness: every arithmetic item of every selected course re-checked by the
  exact checker (target 100 %).
- Wall time: K = 1..5 candidates with a simulated model that takes G ms to write
  a candidate and R ms to review one, in the same in-process flow (K candidates
  in parallel). Reports wall time against G + R. The same through the broker and
  the faust workers follows once the family is wired.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import orjson
from rich.console import Console
from rich.table import Table

from events import Envelope
from events.courses import CourseRequested, CourseSelected, CourseSpec, Diversity
from services.courses.checks import check_math
from services.courses.facts import FactBank, is_math
from services.courses.inprocess import InProcessCourses
from services.courses.rules import CandidateTask, rules_course
from services.courses.settings import DEFAULT_PACKS, CourseSettings
from services.generation import Gateway
from services.generation.contract import Completion, Reply
from services.logging import configure_logging

__all__ = ["Quality", "SimulatedCourseModel", "quality", "wall_times"]

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


class SimulatedCourseModel:
    """A model that writes the rules' course after ``gen_ms`` and a good review after
    ``review_ms`` (the think time of a real model, without its variance)."""

    name = "simulated"
    model = "simulated-courses"

    def __init__(self, facts: FactBank, gen_ms: float, review_ms: float) -> None:
        self.facts, self.gen_s, self.review_s = facts, gen_ms / 1000, review_ms / 1000
        self.calls: Counter[str] = Counter()

    async def complete(self, call: Completion) -> Reply:
        self.calls[call.task] += 1
        data = orjson.loads(call.turns[0].text.split("\n", 1)[1].rsplit("\n", 1)[0])
        if call.task == "course-review":
            await asyncio.sleep(self.review_s)
            text = '{"clarity": 0.9, "age_fit": 0.9, "correctness": 0.95, "notes": []}'
            return Reply(text, input_tokens=900, output_tokens=40, model=self.model)
        await asyncio.sleep(self.gen_s)
        diversity = Diversity(
            approach=data["constraint"]["approach"],
            temperature=call.temperature,
            seed=call.seed or 0,
            style_hints=data["constraint"]["style_hints"],
        )
        spec = CourseSpec.model_validate(data["request"])
        text = rules_course(CandidateTask(spec, diversity, self.facts)).model_dump_json()
        return Reply(text, input_tokens=1500, output_tokens=len(text) // 4, model=self.model)

    async def aclose(self) -> None:
        return None


async def wall_times(
    ks: list[int], gen_ms: float, review_ms: float, runs: int, facts: FactBank
) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for k in ks:
        model = SimulatedCourseModel(facts, gen_ms, review_ms)
        gateway = Gateway([model], concurrency=10, timeout_s=60)
        settings = CourseSettings(use_candidates=True, candidate_count=k, course_strategy="llm")
        walls = []
        for i in range(runs):
            request = CourseRequested(
                course_id=uuid.uuid4(), subject="math", grade=1 + i % 12, candidate_count=k
            )
            flow = InProcessCourses(gateway, settings, facts)
            started = time.perf_counter()
            run = await flow.run(Envelope.new(request, source="bench"))
            walls.append((time.perf_counter() - started) * 1000)
            if run.outcome.event_type != "course-selected":
                raise RuntimeError(f"K={k}: the course ended {run.outcome.event_type}")
        if model.calls != Counter({"course-candidate": k * runs, "course-review": k * runs}):
            raise RuntimeError(f"K={k}: unexpected model calls {dict(model.calls)}")
        out[k] = walls
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=100)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--gen-ms", type=float, default=1000.0)
    parser.add_argument("--review-ms", type=float, default=500.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    facts = FactBank.load(DEFAULT_PACKS / "ccna")
    configure_logging("warning")
    cpu = platform.processor() or platform.machine()
    console.print(f"machine: {cpu}, python {platform.python_version()}")

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

    walls = asyncio.run(wall_times([1, 2, 3, 4, 5], args.gen_ms, args.review_ms, args.runs, facts))
    budget = args.gen_ms + args.review_ms
    wt = Table(
        "K",
        "wall ms (median)",
        "x (G + R)",
        title=f"wall time, G={args.gen_ms:g} ms, R={args.review_ms:g} ms",
    )
    for k, ws in walls.items():
        median = statistics.median(ws)
        wt.add_row(str(k), f"{median:.0f}", f"{median / budget:.2f}")
    console.print(wt)


if __name__ == "__main__":
    main()
