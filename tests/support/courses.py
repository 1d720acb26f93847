"""What the course tests share: the CCNA fact bank, requests, scripted models, the
in-process flow, the family through the broker (its agents and the projector in a
test's process, the API, a finished course's views), and a valid payload of every
courses event for the catalog's property tests (``EVENT_STRATEGIES``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from events import Envelope
from events.common import GenerationUsage
from events.courses import (
    SCORE_WEIGHTS,
    AttentionDetails,
    CandidatePlan,
    CandidateScored,
    CourseCandidateFailed,
    CourseCandidateGenerated,
    CourseCandidateRequested,
    CourseDraft,
    CourseFailed,
    CourseNeedsAttention,
    CourseRequested,
    CourseSelected,
    CourseSpec,
    Diversity,
    DraftGroup,
    DraftItem,
    ItemMode,
    JobSummary,
    PedagogicalApproach,
    ScoreBreakdown,
    SelfReview,
)
from projections.courses import CandidateView, CourseView, candidates_of, course_of
from services.courses.diversity import diversity_for
from services.courses.facts import FactBank
from services.courses.family import FAMILY
from services.courses.inprocess import CourseRun, InProcessCourses
from services.courses.rules import CandidateTask, rules_course
from services.courses.settings import DEFAULT_PACKS, CourseSettings
from services.generation import Gateway
from services.generation.contract import Completion
from services.generation.memory import ScriptedProvider
from services.settings import Settings
from tests.support.api import api_client
from tests.support.helpers import background, wait_until
from tests.support.platform import agent, projector

__all__ = [
    "COURSE_AGENTS",
    "EVENT_STRATEGIES",
    "T0",
    "api_client",
    "bank",
    "course_agents",
    "course_request",
    "data_of_call",
    "draft",
    "finished_course",
    "good_model",
    "llm_gateway",
    "run_course",
    "settings",
    "views_of",
]

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
_DATA = re.compile(r"<data>\n(?P<body>.*)\n</data>", re.DOTALL)  # see generation.guard


@cache
def bank() -> FactBank:
    """The shipped CCNA pack (loaded once per test session)."""
    return FactBank.load(DEFAULT_PACKS / "ccna")


def settings(**kw: Any) -> CourseSettings:
    """Settings from these values only, whatever the environment says."""
    values: dict[str, Any] = {
        "use_candidates": True,
        "candidate_count": 3,
        "min_viable_score": 0.40,
        "review_threshold": 0.60,
        "quality_retry_limit": 1,
        "skip_review": False,
        "course_strategy": "rules",
        "course_llm_fallback": True,
    }
    values.update(kw)
    return CourseSettings(**values)


def course_request(**kw: Any) -> Envelope:
    values: dict[str, Any] = {"course_id": uuid.uuid4(), "subject": "math", "grade": 4}
    values.update(kw)
    return Envelope.new(CourseRequested(**values), source="test", occurred_at=T0)


async def run_course(
    request: Envelope,
    *,
    gateway: Gateway | None = None,
    drop: Callable[[Envelope], bool] | None = None,
    **settings_kw: Any,
) -> CourseRun:
    flow = InProcessCourses(gateway or Gateway(), settings(**settings_kw), bank(), drop=drop)
    return await flow.run(request)


def data_of_call(call: Completion) -> Any:
    """The JSON of a model call's data block."""
    match = _DATA.search(call.turns[0].text)
    assert match is not None, "no data block"
    return orjson.loads(match["body"])


GOOD_REVIEW = {"clarity": 0.9, "age_fit": 0.9, "correctness": 0.95, "notes": []}


def good_model(call: Completion) -> str:
    """A model that writes the course the rules would (right by construction) and
    reviews it well."""
    data = data_of_call(call)
    if call.task == "course-review":
        return orjson.dumps(GOOD_REVIEW).decode()
    spec = CourseSpec.model_validate(data["request"])
    diversity = Diversity(
        approach=PedagogicalApproach(data["constraint"]["approach"]),
        temperature=call.temperature,
        seed=call.seed or 0,
        style_hints=data["constraint"]["style_hints"],
    )
    attempt = (data.get("improve") or {}).get("attempt", 0)
    course = rules_course(CandidateTask(spec, diversity, bank(), attempt=attempt))
    return course.model_dump_json()


def llm_gateway(
    *steps: Any, responder: Callable[[Completion], str] | None = None
) -> tuple[Gateway, ScriptedProvider]:
    """A gateway over a scripted provider: the steps first, then ``responder`` for
    every further call."""
    provider = ScriptedProvider()
    provider.then(*steps)
    if responder is not None:
        provider.then(*([responder] * 200))
    return Gateway([provider], reasks=1, timeout_s=5.0), provider


# Through the broker -------------------------------------------------------------------------
COURSE_AGENTS = tuple(a.name for a in FAMILY.agents)
AUTH = {"Authorization": "Bearer test-token"}


@asynccontextmanager
async def course_agents(
    settings: Settings,
    gateway: Gateway | None = None,
    *,
    with_projector: bool = True,
    skip: Sequence[str] = (),
) -> AsyncIterator[None]:
    """Every agent of the family (but those in ``skip``, run elsewhere) and the ``courses``
    projector, in this process, as the platform assembles them (``gateway`` replaces the
    model, when given)."""
    overrides = {"gateway": gateway} if gateway is not None else {}
    mains = [agent(settings, n, **overrides) for n in COURSE_AGENTS if n not in skip]
    if with_projector:
        mains.append(projector(settings, "courses"))
    async with background(*mains):
        yield


async def views_of(
    engine: AsyncEngine, course_id: uuid.UUID
) -> tuple[CourseView | None, list[CandidateView]]:
    """A course and its candidates from the read models (None while it has no row)."""
    try:
        async with engine.connect() as conn:
            view = await course_of(conn, course_id)
            return view, (await candidates_of(conn, course_id) if view else [])
    except Exception as exc:  # the projector has not made its tables yet
        if "does not exist" in str(exc):
            return None, []
        raise


async def finished_course(
    engine: AsyncEngine, course_id: uuid.UUID, *, timeout: float = 60.0
) -> tuple[CourseView, list[CandidateView]]:
    """The course once the fan-in finished it, with its candidates."""
    view, found = await wait_until(
        lambda: views_of(engine, course_id),
        lambda v: v[0] is not None and v[0].status != "GENERATING",
        timeout=timeout,
        what=f"course {course_id} to finish",
    )
    assert view is not None
    return view, found


def draft(*items: DraftItem, title: str = "A course", group: str = "Group") -> CourseDraft:
    return CourseDraft(title=title, groups=[DraftGroup(title=group, items=list(items))])


# Hypothesis: a valid payload of each courses event type -----------------------------------
_unit = st.floats(min_value=0, max_value=1, allow_nan=False)
_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=3, max_size=30).map(
    lambda s: s.strip() or "item"
)
_items = st.builds(
    lambda text, n, numeric: DraftItem(
        text=f"{text} = [blank]",
        mode="numeric" if numeric else "options",
        answer=str(n) if numeric else None,
        options=None if numeric else [str(n), str(n + 1), str(n + 2)],
        correct_index=None if numeric else 0,
    ),
    _text,
    st.integers(0, 99),
    st.booleans(),
)
_drafts = st.builds(
    lambda title, items: CourseDraft(title=title, groups=[DraftGroup(title="g", items=items)]),
    _text,
    st.lists(_items, min_size=1, max_size=4),
)
_specs = st.builds(
    CourseSpec,
    subject=st.sampled_from(["math", "ccna"]),
    grade=st.integers(1, 12),
    groups=st.integers(1, 10),
    items_per_group=st.integers(1, 20),
    modes=st.sampled_from([[ItemMode.OPTIONS], [ItemMode.NUMERIC], list(ItemMode)]),
)
_usage = st.builds(
    GenerationUsage,
    family=st.just("courses"),
    strategy=st.sampled_from(["rules", "llm", "rules_fallback"]),
    input_tokens=st.integers(0, 10**5),
    output_tokens=st.integers(0, 10**5),
)


@st.composite
def _plans(draw: Any) -> CandidatePlan:
    count = draw(st.integers(1, 10))
    single = count == 1 and draw(st.booleans())
    limit = draw(st.integers(0, 5)) if single else 0
    course_id = draw(st.uuids())
    return CandidatePlan(
        candidate_index=draw(st.integers(0, count - 1)),
        candidate_count=count,
        attempt=draw(st.integers(0, limit)),
        method="single" if single else "candidates",
        spec=draw(_specs),
        diversity=diversity_for(course_id, count)[0],
        strategy=draw(st.sampled_from(["rules", "llm", "auto"])),
        retry_limit=limit,
        min_viable_score=draw(_unit),
        review_threshold=draw(_unit),
        skip_review=draw(st.booleans()),
        requested_at=T0,
        deadline_at=T0 + timedelta(minutes=3),
    )


_summaries = st.builds(
    JobSummary,
    method=st.sampled_from(["candidates", "single"]),
    candidate_count=st.integers(1, 10),
    selected_index=st.none() | st.integers(0, 9),
    selected_score=st.none() | _unit,
    min_viable_score=_unit,
    total_tokens=st.integers(0, 10**6),
    latency_ms=st.integers(0, 10**7),
)


@st.composite
def _scored(draw: Any) -> CandidateScored:
    breakdown = ScoreBreakdown(**{name: draw(_unit) for name in SCORE_WEIGHTS})
    count = draw(st.integers(1, 10))
    return CandidateScored(
        course_id=draw(st.uuids()),
        candidate_index=draw(st.integers(0, count - 1)),
        candidate_count=count,
        score=breakdown.weighted_total(),
        breakdown=breakdown,
        self_review=draw(
            st.none() | st.builds(SelfReview, clarity=_unit, age_fit=_unit, correctness=_unit)
        ),
        issues=draw(st.lists(_text, max_size=3)),
        approach=draw(st.sampled_from(PedagogicalApproach)),
        temperature=draw(st.floats(0, 1, allow_nan=False)),
        seed=draw(st.integers(0, 2**31 - 1)),
        item_count=draw(st.integers(0, 50)),
        usage=draw(st.none() | _usage),
        course=draw(_drafts),
        valid=draw(st.booleans()),
        attempt=draw(st.integers(0, 5)),
        final=draw(st.booleans()),
        generation_tokens=draw(st.integers(0, 10**5)),
    )


EVENT_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "course-requested": st.builds(
        CourseRequested,
        course_id=st.uuids(),
        subject=_text,
        grade=st.integers(1, 12),
        topic=st.none() | _text,
        groups=st.integers(1, 10),
        items_per_group=st.integers(1, 20),
        modes=st.sampled_from([[ItemMode.OPTIONS], [ItemMode.NUMERIC], list(ItemMode)]),
        candidate_count=st.none() | st.integers(1, 10),
        use_candidates=st.none() | st.booleans(),
        strategy=st.none() | st.sampled_from(["rules", "llm", "auto"]),
    ),
    "course-candidate-requested": st.builds(
        CourseCandidateRequested, course_id=st.uuids(), plan=_plans()
    ),
    "course-candidate-generated": st.builds(
        CourseCandidateGenerated, course_id=st.uuids(), plan=_plans(), course=_drafts, usage=_usage
    ),
    "candidate-scored": _scored(),
    "course-candidate-failed": st.builds(
        CourseCandidateFailed,
        course_id=st.uuids(),
        candidate_index=st.just(0),
        candidate_count=st.integers(1, 10),
        stage=st.sampled_from(["generation", "review"]),
        reason=st.sampled_from(["timeout", "malformed_json", "no_source"]),
        error=_text,
        approach=st.sampled_from(PedagogicalApproach),
        temperature=st.floats(0, 1, allow_nan=False),
        seed=st.integers(0, 2**31 - 1),
        usage=st.none() | _usage,
    ),
    "course-selected": st.builds(
        CourseSelected,
        course_id=st.uuids(),
        selected_index=st.integers(0, 9),
        selected_score=_unit,
        course=_drafts,
        valid=st.booleans(),
        summary=_summaries,
    ),
    "course-needs-attention": st.builds(
        CourseNeedsAttention,
        course_id=st.uuids(),
        error=st.sampled_from(["candidate_scores_too_low", "review_below_threshold"]),
        details=st.builds(
            AttentionDetails,
            max_score=_unit,
            min_viable_score=_unit,
            candidate_count=st.integers(1, 10),
            scores=st.lists(_unit, max_size=10),
        ),
        summary=_summaries,
    ),
    "course-failed": st.builds(
        CourseFailed,
        course_id=st.uuids(),
        reason=st.sampled_from(["all_candidates_failed", "no_candidate_by_deadline"]),
        failures=st.lists(_text, max_size=3),
        summary=_summaries,
    ),
}
