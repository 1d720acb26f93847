"""Benchmark of the lesson pipeline: wall time against model latency, quality, fault safety.

    python -m tools.bench.lessons [--latency-ms 500] [--runs 3] [--transport sdk|inprocess]

1. Wall time of one lesson (C&G "Ohm's law" with a prerequisite, so all nine phases
   but the assembler's layout are model calls) with every model call taking L: the
   seed's sequential path (9 phase calls, scoring, rewrite, re-scoring, one after
   another) against ours (the saga starts each phase once its inputs are done).
   ``sdk``: the real anthropic SDK against the local fake server, slowed by fault
   injection (``latency_ms``); ``inprocess``: the simulated model in this process.
2. Quality over every concept of the C&G pack with the rules strategy: the score
   distribution, how often Phase 10 activates (score < 97) and how often its
   rewrite is accepted.
3. Safety under a fault-injecting model whose rewrites are malformed (cut JSON) or
   damaged (ids changed, blocks dropped, added or swapped, "[object Object]", bad
   answer types, emptied explanations): how many damaged rewrites the validators
   stopped, and how many structural breaks or corruptions were saved (target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import platform
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from events import Envelope
from events.lessons import (
    LessonCompleted,
    LessonPhase,
    LessonPhaseCompleted,
    LessonRequested,
    RefinementOutcome,
    RewriteSettings,
)
from services.content.pack import load_pack
from services.generation import Gateway
from services.generation.contract import Provider
from services.generation.faults import FaultSpec, FaultyProvider
from services.lessons.contract import lesson_json
from services.lessons.graph import PIPELINE
from services.lessons.local import LocalPipeline
from services.lessons.material import material_for
from services.lessons.phases import PhaseContext, run_phase
from services.lessons.refine.gate import judge_rewrite, refine
from services.lessons.refine.rewrite import rewrite
from services.lessons.refine.validators import corruption, structural_invariants
from services.lessons.scoring.llm import ScoringInput, score
from services.lessons.scoring.report import rubric_score
from services.lessons.scoring.structure import structural_errors
from services.lessons.settings import LessonSettings
from services.lessons.simulated import SimulatedLessonProvider, lesson_reply
from services.logging import configure_logging
from tools.bench.common import ROOT

console = Console()
PACK = load_pack(ROOT / "packs" / "cg2365")
Damage = Callable[[dict[str, Any], random.Random], Any]


def request_for(
    topic: str, *, strategy: str, prerequisites: tuple[str, ...] = ()
) -> LessonRequested:
    material = material_for(PACK, topic, prerequisites=prerequisites)
    return LessonRequested(
        # The id is in every prompt, and fault draws are a function of the prompt: a
        # fixed id makes the same lesson meet the same faults in every run.
        lesson_id=f"bench-{topic}"[:64],
        pack="cg2365",
        unit=material.focus[0].cluster_name,
        topic=topic,
        section=topic,
        prerequisites=list(prerequisites),
        strategy=strategy,  # type: ignore[arg-type]
        material=material,
    )


def add_variants(lesson: dict[str, Any], _: random.Random | None = None) -> dict[str, Any]:
    """A rewrite that changes something the scorer can check: accepted spellings."""
    out = copy.deepcopy(lesson)
    for b in out["blocks"]:
        for q in b["content"].get("questions", []):
            if q["answerType"] == "short-text" and len(q["expectedAnswer"]) < 8:
                q["expectedAnswer"].append(q["expectedAnswer"][0].lower())
    return out


# 1. wall time ---------------------------------------------------------------------------
def _sdk_provider(stack: ExitStack, latency_ms: int) -> Provider:
    from services.generation.anthropic_provider import AnthropicProvider
    from services.generation.prompts import load_prompt, prompt_tasks
    from tools.fakellm import FakeLLM
    from tools.fakellm.server import data_of, system_of

    tasks = [t for t in prompt_tasks() if t.startswith("lesson-")]

    def responder(body: dict[str, Any]) -> str:
        import orjson

        system = system_of(body)
        task = next(t for t in tasks if load_prompt(t).text in system)
        data = data_of(body)
        reply = (
            {"lesson": add_variants(data["lesson"])}
            if task == "lesson-rewrite"
            else lesson_reply(task, data)
        )
        return orjson.dumps(reply).decode()

    fake = stack.enter_context(FakeLLM("anthropic", responder=responder))
    inner = AnthropicProvider(
        api_key="bench", model="claude-sonnet-4-5", base_url=fake.url, max_retries=0
    )
    return FaultyProvider(inner, FaultSpec(latency_ms=latency_ms))


async def ours(gateway: Gateway) -> tuple[float, float]:
    """Phases 1-9 and the whole lesson (with scoring and Phase 10), in seconds."""
    settings = LessonSettings(refinement={"scoreThreshold": 100})
    pipeline = LocalPipeline(gateway, settings=settings)
    request = request_for("ohms-law", strategy="llm", prerequisites=("electrical-power",))
    started = time.perf_counter()
    await pipeline.publish([Envelope.new(request, source="bench")])

    def assembled(log: Any) -> bool:
        return any(e.payload.phase is LessonPhase.ASSEMBLER for e in log.of(LessonPhaseCompleted))

    await pipeline.drive(assembled)
    phases = time.perf_counter() - started
    done = await pipeline.finish(request.lesson_id)
    assert isinstance(done.payload, LessonCompleted) and done.payload.refined
    return phases, time.perf_counter() - started


async def sequential(gateway: Gateway) -> tuple[float, float]:
    """The seed's path: every phase, then scoring, rewrite and re-scoring, one by one."""
    request = request_for("ohms-law", strategy="llm", prerequisites=("electrical-power",))
    started = time.perf_counter()
    outputs: dict[LessonPhase, Any] = {}
    for phase in PIPELINE:
        ctx = PhaseContext(request, dict(outputs))
        if phase is LessonPhase.WORKED_EXAMPLE and not ctx.plan.needs_worked_example:
            continue
        outputs[phase] = (await run_phase(phase, ctx, strategy="llm", gateway=gateway)).value
    phases = time.perf_counter() - started
    lesson = lesson_json(outputs[LessonPhase.ASSEMBLER].lesson)
    report = (
        await score(ScoringInput(lesson), method="llm", strategy="llm", gateway=gateway)
    ).value
    result = await rewrite(
        lesson, report, settings=RewriteSettings(), strategy="llm", gateway=gateway
    )
    verdict = judge_rewrite(lesson, result, report.total)
    assert verdict.candidate is not None
    await score(ScoringInput(verdict.candidate), method="llm", strategy="llm", gateway=gateway)
    return phases, time.perf_counter() - started


async def _timed(provider: Provider, latency: float, runs: int) -> dict[str, list[Any]]:
    rows: dict[str, list[tuple[float, float]]] = {"ours": [], "seed": []}
    async with Gateway([provider], timeout_s=max(30.0, 10 * latency), concurrency=16) as gateway:
        for i in range(runs + 1):  # the first run warms up
            for name, path in (("ours", ours), ("seed", sequential)):
                got = await path(gateway)
                if i:
                    rows[name].append(got)
    return rows


def wall_times(latency_ms: int, runs: int, transport: str) -> None:
    latency = latency_ms / 1000
    with ExitStack() as stack:
        provider: Provider
        if transport == "sdk":
            provider = _sdk_provider(stack, latency_ms)
        else:
            provider = SimulatedLessonProvider(
                latency_s=latency, rewrites="damaged", damage=add_variants
            )
        rows = asyncio.run(_timed(provider, latency, runs))
    table = Table(
        "path",
        "phases 1-9",
        "x L",
        "whole lesson",
        "x L",
        "target",
        title=f"one lesson, L = {latency_ms} ms per model call ({transport}, {runs} runs)",
    )
    for name, label, target in (
        ("seed", "seed: sequential (9 phases + score + rewrite + re-score)", "baseline"),
        ("ours", "ours: phases as soon as their inputs are done", "phases 1-9 <= 6 L"),
    ):
        p = statistics.median(r[0] for r in rows[name])
        w = statistics.median(r[1] for r in rows[name])
        met = "" if name == "seed" else (": met" if p <= 6 * latency else ": not met")
        table.add_row(
            label,
            f"{p * 1000:,.0f} ms",
            f"{p / latency:.2f}",
            f"{w * 1000:,.0f} ms",
            f"{w / latency:.2f}",
            target + met,
        )
    console.print(table)


# 2. quality -----------------------------------------------------------------------------
async def quality() -> None:
    from services.lessons.phases import FAMILIES

    originals, finals = [], []
    outcomes: Counter[str] = Counter()
    gateway = Gateway()
    for concept in PACK.concepts:
        request = request_for(concept.slug, strategy="rules")
        outputs: dict[LessonPhase, Any] = {}
        for phase in PIPELINE:
            ctx = PhaseContext(request, dict(outputs))
            if phase is LessonPhase.WORKED_EXAMPLE and not ctx.plan.needs_worked_example:
                continue
            outputs[phase] = FAMILIES[phase].rules(ctx)
        lesson = lesson_json(outputs[LessonPhase.ASSEMBLER].lesson)
        report = rubric_score(lesson)
        originals.append(report.total)
        if report.total >= 97:
            finals.append(report.total)
            continue

        async def rubric(candidate: dict[str, Any]) -> Any:
            return rubric_score(candidate)

        result = await refine(
            lesson,
            report,
            settings=RewriteSettings(),
            strategy="rules",
            gateway=gateway,
            scorer=rubric,
        )
        outcomes[result.outcome.value] += 1
        finals.append(result.final_score)
    activated = sum(outcomes.values())
    accepted = outcomes[RefinementOutcome.ACCEPTED.value]
    table = Table("measure", "figure", title=f"rules over the {len(originals)} C&G concepts")
    for label, values in (("score before Phase 10", originals), ("score after", finals)):
        q = statistics.quantiles(values, n=10)
        table.add_row(
            label,
            f"min {min(values):g}, p10 {q[0]:.1f}, median "
            f"{statistics.median(values):.1f}, mean {statistics.mean(values):.1f}",
        )
    bands = Counter(
        "100" if s == 100 else "97-99" if s >= 97 else "90-96" if s >= 90 else "<90"
        for s in originals
    )
    table.add_row(
        "distribution before",
        ", ".join(f"{k}: {bands[k]}" for k in ("100", "97-99", "90-96", "<90")),
    )
    table.add_row(
        "Phase 10 activation (score < 97)",
        f"{activated}/{len(originals)} ({activated / len(originals):.0%})",
    )
    table.add_row(
        "rewrites accepted",
        f"{accepted}/{activated}" + (f" ({accepted / activated:.0%})" if activated else ""),
    )
    table.add_row("outcomes", ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())) or "none")
    console.print(table)


# 3. faults ------------------------------------------------------------------------------
def _blocks(d: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = d["blocks"]
    return blocks


def _questions(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for b in _blocks(d) for q in b["content"].get("questions", [])]


DAMAGES: dict[str, Damage] = {
    "changed id": lambda d, r: r.choice(_blocks(d)).update(id="block-x"),
    "dropped block": lambda d, r: _blocks(d).pop(r.randrange(len(_blocks(d)))),
    "added block": lambda d, r: _blocks(d).append(copy.deepcopy(r.choice(_blocks(d)))),
    "swapped blocks": lambda d, r: _blocks(d).reverse(),
    "[object Object]": lambda d, r: r.choice(_questions(d)).update(questionText="[object Object]"),
    "bad answer type": lambda d, r: r.choice(_questions(d)).update(answerType="matching"),
    "emptied explanation": lambda d, r: next(b for b in _blocks(d) if b["type"] == "explanation")[
        "content"
    ].update(content=""),
    "answers as an object": lambda d, r: r.choice(_questions(d)).update(
        expectedAnswer={"value": "x"}
    ),
}


async def faults(malformed: float) -> None:
    rng = random.Random(7)
    kinds = list(DAMAGES)
    stopped: Counter[str] = Counter()
    saved_breaks = 0
    total = 0
    for i, concept in enumerate(PACK.concepts):
        kind = kinds[i % len(kinds)]

        def damage(lesson: dict[str, Any], kind: str = kind) -> dict[str, Any]:
            out = copy.deepcopy(lesson)
            DAMAGES[kind](out, rng)
            return out

        inner = SimulatedLessonProvider(rewrites="damaged", damage=damage)
        provider = FaultyProvider(inner, FaultSpec(malformed=malformed, seed=i))
        gateway = Gateway([provider], reasks=0)
        request = request_for(concept.slug, strategy="rules")
        pipeline = LocalPipeline(Gateway())
        await pipeline.generate(request)
        stored = pipeline.log.saga_store.get(request.lesson_id)
        lesson = copy.deepcopy(stored.state.lesson) if stored and stored.state else None  # type: ignore[attr-defined]
        assert lesson is not None
        report = rubric_score(lesson)

        async def rubric(candidate: dict[str, Any]) -> Any:
            return rubric_score(candidate)

        result = await refine(
            lesson,
            report,
            settings=RewriteSettings(),
            strategy="llm",
            gateway=gateway,
            scorer=rubric,
        )
        total += 1
        saved = result.candidate if result.applied and result.candidate is not None else lesson
        broken = (
            structural_errors(saved) or corruption(saved) or structural_invariants(lesson, saved)
        )
        saved_breaks += bool(broken)
        stopped[
            result.outcome.value
            if result.outcome is not RefinementOutcome.REJECTED_VALIDATION
            else f"rejected_validation ({kind})"
        ] += 1
    table = Table(
        "outcome of the rewrite",
        "lessons",
        title=f"{total} C&G lessons, every rewrite damaged or cut (malformed={malformed})",
    )
    for k, v in sorted(stopped.items()):
        table.add_row(escape(k), str(v))
    table.add_row(
        "[bold]structural breaks or corruptions saved[/] (target 0)", f"[bold]{saved_breaks}[/]"
    )
    console.print(table)


def main(latency_ms: int, runs: int, transport: str, malformed: float) -> None:
    configure_logging("warning")
    console.print(f"{platform.node()} · Python {platform.python_version()} · {platform.machine()}")
    wall_times(latency_ms, runs, transport)
    asyncio.run(quality())
    asyncio.run(faults(malformed))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=int, default=500, help="L, per model call")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--transport", choices=("sdk", "inprocess"), default="sdk")
    parser.add_argument("--malformed", type=float, default=0.3, help="share of cut replies")
    args = parser.parse_args()
    main(args.latency_ms, args.runs, args.transport, args.malformed)
