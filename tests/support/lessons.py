"""Helpers for the lesson tests: briefs from the shipped packs, lessons made by the rules,
damage done to lessons the way a bad rewrite does it, and a valid payload of every
lessons event type (``EVENT_STRATEGIES``, for the catalog's round-trip tests)."""

from __future__ import annotations

import asyncio
import copy
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

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
from services.lessons.contract import lesson_json
from services.lessons.graph import PIPELINE
from services.lessons.local import LocalPipeline
from services.lessons.material import material_for
from services.lessons.phases import FAMILIES, PhaseContext
from services.lessons.saga import LessonState
from services.lessons.scoring.report import rubric_score

__all__ = [
    "EVENT_STRATEGIES",
    "PACKS",
    "brief",
    "damaged",
    "lesson_for",
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
