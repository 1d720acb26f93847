"""A simulated model for the lesson tasks, answering as a good model would.

It reads a call's data block and answers from the rules: each phase from its
rules implementation, scoring from the rubric (as the llm scorer's reply),
the rewrite by applying the report's fixes. With ``SimulatedLessonProvider``
the llm path runs end to end in one process (gateway, validation, re-asks,
usage) without sockets; ``rewrites`` makes its Phase 10 replies malformed or
damaged on purpose, to exercise the guards; ``latency_s`` makes each call take
the time a model would. ``lesson_reply`` also serves the fake HTTP servers.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from events.lessons import SCORE_CATEGORIES, LessonPhase, LessonRequested
from services.generation.contract import Completion, Reply
from services.lessons.phases import FAMILIES, PhaseContext
from services.lessons.phases.assembler import rules_notes
from services.lessons.refine.patches import apply_fixes
from services.lessons.scoring.report import rubric_score

__all__ = ["SimulatedLessonProvider", "lesson_reply", "scoring_reply"]

_DATA = re.compile(r"<data>\n(?P<body>.*)\n</data>", re.DOTALL)
Damage = Callable[[dict[str, Any]], Any]


def scoring_reply(lesson: dict[str, Any]) -> dict[str, Any]:
    """The rubric's judgement in the llm scorer's reply format."""
    report = rubric_score(lesson)
    categories = [
        {
            "category": c.value,
            "score": report.categories.get(c, 0.0) if not report.structural_errors else 0.0,
        }
        for c in SCORE_CATEGORIES
    ]
    issues = []
    for d in report.top_issues(15):
        fix = d.fixes[0] if d.fixes else None
        issues.append(
            {
                "category": d.category.value,
                "section": d.section.split(": ", 1)[-1][:300],
                "issue": (d.issues or [d.section])[0][:600],
                "suggestion": (d.suggestions or ["review this part"])[0][:800],
                "pointsLost": round(min(30.0, max(0.01, d.max_score - d.score)), 2),
                "path": fix.path if fix else None,
                "value": fix.value if fix else None,
            }
        )
    return {"categories": categories, "issues": issues}


def _rewrite(lesson: dict[str, Any]) -> dict[str, Any]:
    report = rubric_score(lesson)
    fixes = [f for d in report.top_issues() for f in d.fixes]
    candidate, applied, _ = apply_fixes(lesson, fixes)
    return {"lesson": candidate, "changes": applied}


def lesson_reply(task: str, data: dict[str, Any]) -> dict[str, Any]:
    """A correct reply to one lesson task, from its data block."""
    if task == "lesson-scoring":
        return scoring_reply(data["lesson"])
    if task == "lesson-rewrite":
        return _rewrite(data["lesson"])
    phase = LessonPhase(task.removeprefix("lesson-").replace("-", "_"))
    ctx = PhaseContext.from_inputs(LessonRequested.model_validate(data["brief"]), data["inputs"])
    if phase is LessonPhase.ASSEMBLER:
        out: Any = rules_notes(ctx)
    else:
        out = FAMILIES[phase].rules(ctx)
    dumped: dict[str, Any] = out.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


class SimulatedLessonProvider:
    """An in-process provider that answers the lesson tasks (and counts the calls)."""

    def __init__(
        self,
        *,
        name: str = "anthropic",
        latency_s: float = 0.0,
        rewrites: str = "good",
        damage: Damage | None = None,
        broken_tasks: frozenset[str] = frozenset(),
        slow_tasks: dict[str, float] | None = None,
    ) -> None:
        if rewrites not in ("good", "garbage", "damaged"):
            raise ValueError(f"rewrites must be good, garbage or damaged, not {rewrites!r}")
        if rewrites == "damaged" and damage is None:
            raise ValueError("damaged rewrites need a damage function")
        self._name = name
        self.latency_s = latency_s
        self.rewrites = rewrites
        self.damage = damage
        self.broken_tasks = broken_tasks
        self.slow_tasks = slow_tasks or {}
        self.calls: Counter[str] = Counter()
        self.requests: list[Completion] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return "simulated-lesson-model"

    async def complete(self, call: Completion) -> Reply:
        self.calls[call.task] += 1
        self.requests.append(call)
        delay = self.slow_tasks.get(call.task, self.latency_s)
        if delay:
            await asyncio.sleep(delay)
        match = _DATA.search(call.turns[0].text)
        if match is None:
            raise ValueError("no <data> block in the call")
        data = orjson.loads(match["body"])
        if call.task in self.broken_tasks:
            text = '{"not": "the schema"'
        elif call.task == "lesson-rewrite" and self.rewrites == "garbage":
            text = "Here is the improved lesson: {lesson: ...}"
        elif call.task == "lesson-rewrite" and self.rewrites == "damaged":
            assert self.damage is not None
            text = orjson.dumps({"lesson": self.damage(data["lesson"])}).decode()
        else:
            text = orjson.dumps(lesson_reply(call.task, data)).decode()
        prompt = len(call.system) + sum(len(t.text) for t in call.turns)
        return Reply(text=text, input_tokens=prompt // 4, output_tokens=max(1, len(text) // 4))

    async def aclose(self) -> None:
        return None
