"""Helpers for the lesson tests: briefs from the shipped packs, lessons made by the rules,
damage done to lessons the way a bad rewrite does it, and a valid payload of every
lessons event type (``EVENT_STRATEGIES``, for the catalog's round-trip tests)."""

from __future__ import annotations

import asyncio
import copy
import functools
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import orjson
from hypothesis import strategies as st

from events.lessons import (
    LessonCompleted,
    LessonFailed,
    LessonImproveRequested,
    LessonPhase,
    LessonPhaseRequested,
    LessonRefined,
    LessonRequested,
    LessonRewriteProposed,
    LessonRewriteRequested,
    LessonScored,
    LessonScoringRequested,
    RefinementOutcome,
    RefinementTrigger,
    RewriteSettings,
    ScoringPurpose,
)
from projections.lessons import LessonView
from services.content.pack import Pack, load_pack
from services.generation import Gateway
from services.generation.contract import Completion, Provider, Reply
from services.generation.prompts import load_prompt, prompt_tasks
from services.lessons.contract import lesson_json
from services.lessons.graph import PIPELINE
from services.lessons.local import LocalPipeline
from services.lessons.material import material_for
from services.lessons.phases import FAMILIES, PhaseContext
from services.lessons.saga import LessonState
from services.lessons.scoring.report import rubric_score
from services.lessons.simulated import lesson_reply
from services.settings import Settings
from tests.support.api import api_client
from tests.support.helpers import wait_until
from tests.support.platform import Main, agent, projector
from tools.fakellm.server import data_of, system_of

__all__ = [
    "AGENTS",
    "EVENT_STRATEGIES",
    "PACKS",
    "REWRITES",
    "CountingProvider",
    "LessonModel",
    "api_client",
    "brief",
    "damaged",
    "finished",
    "lesson_agents",
    "lesson_for",
    "lesson_task",
    "lesson_view",
    "outputs_for",
    "pack",
    "run_rules",
    "topics",
]

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 2, 6, 9, 0, tzinfo=UTC)
PACKS = ("ccna", "cg2365")  # the packs lessons are taught from


@cache
def pack(name: str) -> Pack:
    return load_pack(ROOT / "packs" / name)


def topics(name: str) -> list[str]:
    """Every concept and every cluster of a pack."""
    p = pack(name)
    return [c.slug for c in p.concepts] + sorted({c.cluster_slug for c in p.concepts})


def brief(
    pack_name: str,
    topic: str,
    *,
    must_have: tuple[str, ...] = (),
    prerequisites: tuple[str, ...] = (),
    strategy: str = "rules",
    lesson_id: str = "L-1",
) -> LessonRequested:
    material = material_for(
        pack(pack_name), topic, must_have=must_have, prerequisites=prerequisites
    )
    return LessonRequested(
        lesson_id=lesson_id,
        pack=pack_name,
        unit=material.focus[0].cluster_name,
        topic=topic,
        section=topic,
        must_have_topics=list(must_have),
        prerequisites=list(prerequisites),
        strategy=strategy,  # type: ignore[arg-type]
        material=material,
    )


def run_rules(request: LessonRequested) -> dict[LessonPhase, Any]:
    """Phases 1-9 by their rules, in pipeline order (the worked example only if planned)."""
    outputs: dict[LessonPhase, Any] = {}
    for phase in PIPELINE:
        ctx = PhaseContext(request, dict(outputs))
        if phase is LessonPhase.WORKED_EXAMPLE and not ctx.plan.needs_worked_example:
            continue
        outputs[phase] = FAMILIES[phase].rules(ctx)
    return outputs


@cache
def _outputs(pack_name: str, topic: str, must_have: tuple[str, ...]) -> dict[LessonPhase, Any]:
    return run_rules(brief(pack_name, topic, must_have=must_have))


def outputs_for(
    pack_name: str, topic: str, must_have: tuple[str, ...] = ()
) -> dict[LessonPhase, Any]:
    return dict(_outputs(pack_name, topic, must_have))


def lesson_for(pack_name: str, topic: str, must_have: tuple[str, ...] = ()) -> dict[str, Any]:
    """The assembled lesson's JSON (a fresh copy each time)."""
    lesson = _outputs(pack_name, topic, must_have)[LessonPhase.ASSEMBLER].lesson
    return copy.deepcopy(lesson_json(lesson))


# damage, as a bad rewrite does it ---------------------------------------------------------
def _strings(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _strings(v, (*path, i))]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _strings(v, (*path, k))]
    return []


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _question_paths(lesson: dict[str, Any]) -> list[tuple[int, int]]:
    return [
        (i, k)
        for i, b in enumerate(lesson["blocks"])
        for k in range(len(b["content"].get("questions", [])))
    ]


@st.composite
def damaged(draw: Any, lesson: dict[str, Any], kind: str) -> dict[str, Any]:
    """A copy of ``lesson`` with one kind of damage, drawn at random places."""
    out = copy.deepcopy(lesson)
    blocks = out["blocks"]
    n = len(blocks)
    if kind == "changed_id":
        i = draw(st.integers(0, n - 1))
        blocks[i]["id"] = blocks[i]["id"] + draw(st.sampled_from(["-x", "-2", "_copy"]))
    elif kind == "dropped_block":
        blocks.pop(draw(st.integers(0, n - 1)))
    elif kind == "added_block":
        i = draw(st.integers(0, n - 1))
        blocks.insert(draw(st.integers(0, n)), copy.deepcopy(blocks[i]))
    elif kind == "reordered_blocks":
        i = draw(st.integers(0, n - 2))
        j = draw(st.integers(i + 1, n - 1))
        blocks[i], blocks[j] = blocks[j], blocks[i]
    elif kind == "changed_metadata":
        field = draw(st.sampled_from(["id", "unit", "topic", "layout"]))
        out[field] = {"layout": "focus-mode" if out["layout"] != "focus-mode" else "split-vis"}.get(
            field, f"{out[field]}-changed"
        )
    elif kind == "object_object":
        paths = _strings(out)
        path = draw(st.sampled_from(paths))
        at = _get(out, path)
        cut = draw(st.integers(0, len(at)))
        _set(out, path, at[:cut] + "[object Object]" + at[cut:])
    elif kind == "bad_answer_type":
        i, k = draw(st.sampled_from(_question_paths(out)))
        bad = draw(st.sampled_from(["matching", "essay", "short_text", "MCQ", "numeric", ""]))
        blocks[i]["content"]["questions"][k]["answerType"] = bad or "free"
    elif kind == "malformed_answer":
        i, k = draw(st.sampled_from(_question_paths(out)))
        q = blocks[i]["content"]["questions"][k]
        q["expectedAnswer"] = draw(
            st.sampled_from([{"value": q["expectedAnswer"][0]}, [[q["expectedAnswer"][0]]], [1, 2]])
        )
    elif kind == "emptied_explanation":
        explanations = [i for i, b in enumerate(blocks) if b["type"] == "explanation"]
        i = draw(st.sampled_from(explanations))
        blocks[i]["content"]["content"] = draw(st.sampled_from(["", "TBD", "See above."]))
    else:
        raise ValueError(f"unknown damage {kind!r}")
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def lesson_view() -> LessonView:
    """The read model's view of a lesson the pipeline made (the rules, in process)."""
    pipeline = LocalPipeline(Gateway())
    request = brief("cg2365", "ring-final-circuit", lesson_id="cg-ring-1")
    asyncio.run(pipeline.generate(request))
    stored = pipeline.log.saga_store.get("cg-ring-1")
    state = stored.state if stored else None
    assert isinstance(state, LessonState) and state.lesson is not None
    lesson: dict[str, Any] = dict(state.lesson)
    return LessonView(
        lesson_id="cg-ring-1",
        pack="cg2365",
        unit="Final circuits",
        topic="ring-final-circuit",
        section="ring-final-circuit",
        strategy="rules",
        must_have_topics=[],
        status="completed",
        title="Ring final circuit",
        layout="split-vis",
        current_version=1,
        score=100.0,
        score_history=[],
        input_tokens=0,
        output_tokens=0,
        cost_usd=0.0,
        failure=None,
        requested_at=T0,
        completed_at=T0,
        phases=[],
        versions=[],
        lesson=lesson,
    )


# a scripted model behind the fake servers ----------------------------------------------
def lesson_task(body: dict[str, Any]) -> str | None:
    """The lesson task a request to a fake server is for (its prompt is the system text)."""
    system = system_of(body)
    found = [t for t in prompt_tasks() if t.startswith("lesson-") and load_prompt(t).text in system]
    return found[0] if found else None


def _short_answers(lesson: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        q
        for b in lesson["blocks"]
        for q in b["content"].get("questions", [])
        if q["answerType"] == "short-text"
    ]


def _better(lesson: dict[str, Any]) -> dict[str, Any]:
    for q in _short_answers(lesson):
        if len(q["expectedAnswer"]) == 1:
            q["expectedAnswer"].append(q["expectedAnswer"][0].lower() + " (accepted)")
    return lesson


def _worse(lesson: dict[str, Any]) -> dict[str, Any]:
    lesson["description"] = f"{lesson['description']} (rewritten: worse)"
    return lesson


def _first_question(lesson: dict[str, Any]) -> dict[str, Any]:
    question: dict[str, Any] = next(
        q for b in lesson["blocks"] for q in b["content"].get("questions", [])
    )
    return question


def _explanation(lesson: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = next(
        b["content"] for b in lesson["blocks"] if b["type"] == "explanation"
    )
    return content


def _damage(kind: str, lesson: dict[str, Any]) -> dict[str, Any]:
    """One validator layer's kind of damage, done to ``lesson`` in place."""
    if kind == "dropped_block":
        lesson["blocks"].pop()
    elif kind == "changed_id":
        lesson["blocks"][0]["id"] += "-x"
    elif kind == "object_object":
        _first_question(lesson)["questionText"] = "[object Object]"
    elif kind == "bad_answer_type":
        _first_question(lesson)["answerType"] = "matching"
    elif kind == "emptied_explanation":
        _explanation(lesson)["content"] = ""
    return lesson


Edit = Callable[[dict[str, Any]], dict[str, Any]]
# What a rewrite may come back as: better, worse (valid, scoring lower), damaged in one
# validator layer's way, or garbage the parser refuses.
_DAMAGES = (
    "dropped_block",
    "changed_id",
    "object_object",
    "bad_answer_type",
    "emptied_explanation",
)
_EDITS: dict[str, Edit] = {
    "better": _better,
    "worse": _worse,
    **{kind: functools.partial(_damage, kind) for kind in _DAMAGES},
}
_GARBAGE: dict[str, Callable[[str], str]] = {
    "not_json": lambda reply: "Here is the improved lesson: {lesson: ...}",
    "cut_json": lambda reply: reply[: len(reply) // 2],
    "not_a_lesson": lambda reply: '{"lesson": "see above", "changes": []}',
}
REWRITES = (*_EDITS, *_GARBAGE)

# The judge's category points for 85 (Usable: Phase 10 runs), 93 and 80 (out of 90).
_JUDGED = {
    85.0: (15, 25, 20, 7.5, 4, 5),
    93.0: (15, 28, 23, 8.7, 4, 5),
    80.0: (15, 24, 18, 6, 4, 5),
}


def _judge(lesson: dict[str, Any]) -> dict[str, Any]:
    """85 for a lesson as made, 93 once its short answers accept a variant, 80 if worse."""
    if "(rewritten: worse)" in lesson.get("description", ""):
        total = 80.0
    elif any(a.endswith("(accepted)") for q in _short_answers(lesson) for a in q["expectedAnswer"]):
        total = 93.0
    else:
        total = 85.0
    names = ("schemaCompliance", "pedagogy", "questions", "markingRobustness", "visual", "safety")
    categories = [{"category": c, "score": s} for c, s in zip(names, _JUDGED[total], strict=True)]
    issues = []
    for i, b in enumerate(lesson["blocks"]):
        for k, q in enumerate(b["content"].get("questions", [])):
            if q["answerType"] == "short-text" and len(q["expectedAnswer"]) == 1:
                path = f"blocks[{i}].content.questions[{k}].expectedAnswer"
                answer = q["expectedAnswer"][0]
                issues.append(
                    {
                        "category": "markingRobustness",
                        "section": f"{b['id']} accepts one spelling",
                        "issue": "a rigid expectedAnswer with a single accepted string",
                        "suggestion": f"Change {path} to also accept '{answer.lower()}'",
                        "pointsLost": 0.5,
                        "path": path,
                        "value": [answer, answer.lower() + " (accepted)"],
                    }
                )
    return {"categories": categories, "issues": issues[:15]}


class LessonModel:
    """The lesson tasks as a model on a fake server answers them, judge and rewriter scripted.

    Phases are answered as ``services.lessons.simulated`` answers them; the judge scores
    every lesson 85, 93 once a rewrite made its answers accept variants, 80 if a rewrite
    made it worse. Each lesson's rewrites follow its queue (``plan``; ``better`` when
    empty), and a re-ask gets the same kind of answer as the call it re-asks. ``calls``
    counts the calls by lesson and task.
    """

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self._plans: dict[str, deque[str]] = {}
        self._current: dict[str, str] = {}
        self._lock = threading.Lock()

    def plan(self, lesson_id: str, *rewrites: str) -> None:
        unknown = set(rewrites) - set(REWRITES)
        if unknown:
            raise ValueError(f"unknown rewrites {sorted(unknown)} (known: {REWRITES})")
        with self._lock:
            self._plans.setdefault(lesson_id, deque()).extend(rewrites)

    def tasks(self, lesson_id: str) -> Counter[str]:
        with self._lock:
            return Counter({t: n for (lid, t), n in self.calls.items() if lid == lesson_id})

    def __call__(self, body: dict[str, Any]) -> str:
        task = lesson_task(body)
        if task is None:
            raise ValueError("not a lesson task")
        data = data_of(body)
        lesson_id = data["lesson"]["id"] if "lesson" in data else data["brief"]["lesson_id"]
        reask = len(body.get("messages", body.get("contents", []))) > 1
        with self._lock:
            self.calls[(lesson_id, task)] += 1
            if task == "lesson-rewrite" and not reask:
                queue = self._plans.get(lesson_id)
                self._current[lesson_id] = queue.popleft() if queue else "better"
            kind = self._current.get(lesson_id, "better")
        if task == "lesson-scoring":
            return orjson.dumps(_judge(data["lesson"])).decode()
        if task != "lesson-rewrite":
            return orjson.dumps(lesson_reply(task, data)).decode()
        lesson = copy.deepcopy(data["lesson"])
        if kind in _EDITS:
            reply = {"lesson": _EDITS[kind](lesson), "changes": [f"rewrite: {kind}"]}
            return orjson.dumps(reply).decode()
        good = orjson.dumps({"lesson": _better(lesson), "changes": []}).decode()
        return _GARBAGE[kind](good)


class CountingProvider:
    """A provider that tallies what the provider it wraps answered: calls and tokens."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.input_tokens = 0
        self.output_tokens = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    async def complete(self, call: Completion) -> Reply:
        reply = await self.inner.complete(call)
        self.calls[call.task] += 1
        self.input_tokens += reply.input_tokens
        self.output_tokens += reply.output_tokens
        return reply

    async def aclose(self) -> None:
        await self.inner.aclose()


# the lesson agents through the broker ---------------------------------------------------
AGENTS = ("lesson-pipeline", "lesson-phases", "lesson-scorer", "lesson-rewriter")


def lesson_agents(settings: Settings, gateway: Gateway, *, without: str = "") -> list[Main]:
    """The projector of ``lessons`` and ``generation_usage`` and every lesson agent (but
    ``without``), in this process."""
    mains = [projector(settings, "lessons", "generation_usage")]
    return mains + [agent(settings, n, gateway=gateway) for n in AGENTS if n != without]


async def finished(api: httpx.AsyncClient, lesson_id: str, timeout: float = 90) -> dict[str, Any]:
    """``GET /v1/lessons/{id}`` once the lesson is completed or failed."""

    async def view() -> httpx.Response:
        return await api.get(f"/v1/lessons/{lesson_id}")

    got = await wait_until(
        view,
        lambda r: r.status_code == 200 and r.json()["status"] in ("completed", "failed"),
        timeout=timeout,
        what=f"lesson {lesson_id} to finish",
    )
    found: dict[str, Any] = got.json()
    return found


# a valid payload of every lessons event type --------------------------------------------
def _small() -> tuple[LessonRequested, dict[str, Any]]:
    request = brief("ccna", "ospf", lesson_id="L-strategy")
    return request, lesson_for("ccna", "ospf")


ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


@st.composite
def _requested(draw: Any) -> LessonRequested:
    request, _ = _small()
    return request.model_copy(
        update={"lesson_id": draw(ids), "strategy": draw(st.sampled_from(["rules", "llm", "auto"]))}
    )


@st.composite
def _phase_requested(draw: Any) -> LessonPhaseRequested:
    request = draw(_requested())
    phase = draw(st.sampled_from([p for p in LessonPhase if p is not LessonPhase.REWRITE]))
    return LessonPhaseRequested(
        lesson_id=request.lesson_id, phase=phase, strategy=request.strategy, brief=request
    )


def _report() -> Any:
    return rubric_score(lesson_for("ccna", "ospf"))


EVENT_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "lesson-requested": _requested(),
    "lesson-phase-requested": _phase_requested(),
    "lesson-failed": st.builds(
        LessonFailed,
        lesson_id=ids,
        phase=st.sampled_from(LessonPhase),
        reason=st.text(
            st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=50
        ).filter(str.strip),
    ),
    "lesson-scoring-requested": st.builds(
        lambda lid, purpose, method: LessonScoringRequested(
            lesson_id=lid,
            purpose=purpose,
            refinement_id=uuid.uuid4() if purpose is ScoringPurpose.CANDIDATE else None,
            lesson=_small()[1],
            strategy="rules",
            method=method,
        ),
        ids,
        st.sampled_from(ScoringPurpose),
        st.sampled_from(["rubric", "llm"]),
    ),
    "lesson-scored": st.builds(
        lambda lid, ok: LessonScored(
            lesson_id=lid,
            purpose=ScoringPurpose.ORIGINAL,
            report=_report() if ok else None,
            error=None if ok else "timeout: no answer",
        ),
        ids,
        st.booleans(),
    ),
    "lesson-rewrite-requested": st.builds(
        lambda lid, trigger: LessonRewriteRequested(
            lesson_id=lid,
            refinement_id=uuid.uuid4(),
            trigger=trigger,
            lesson=_small()[1],
            report=_report(),
            strategy="rules",
            settings=RewriteSettings(),
        ),
        ids,
        st.sampled_from(RefinementTrigger),
    ),
    "lesson-rewrite-proposed": st.builds(
        lambda lid: LessonRewriteProposed(
            lesson_id=lid, refinement_id=uuid.uuid4(), candidate=_small()[1], changes=["x"]
        ),
        ids,
    ),
    "lesson-refined": st.builds(
        lambda lid, outcome: LessonRefined(
            lesson_id=lid,
            refinement_id=uuid.uuid4(),
            trigger=RefinementTrigger.IMPROVE,
            outcome=outcome,
            reason="why",
            validation_failures=["structural: block count changed from 10 to 9"]
            if outcome is RefinementOutcome.REJECTED_VALIDATION
            else [],
            original_score=90.0,
        ),
        ids,
        st.sampled_from(RefinementOutcome),
    ),
    "lesson-improve-requested": st.builds(
        LessonImproveRequested, lesson_id=ids, request_id=st.uuids()
    ),
    "lesson-completed": st.builds(
        LessonCompleted,
        lesson_id=ids,
        version=st.integers(1, 9),
        score=st.floats(0, 100),
        refined=st.booleans(),
    ),
}
