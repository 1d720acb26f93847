"""Hypothesis strategies: a valid payload of every event type in the catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from events import CATALOG, Envelope, Payload
from events.common import GenerationUsage
from events.content import (
    AtomGenerationRequested,
    AtomImported,
    AtomsGenerated,
    AtomType,
    Calculation,
    ConceptImported,
    ContentType,
    Fact,
    GenerationTrigger,
    Procedure,
    RemediationContext,
)
from events.courses import SCORE_WEIGHTS, PedagogicalApproach, ScoreBreakdown, SelfReview
from events.drills import (
    BatchCompleted,
    BatchContext,
    BatchPrompts,
    BatchRequested,
    BatchStarted,
    CandidateMove,
    DrillSeriesCompleted,
    DrillSeriesRequested,
    GamePhase,
    PositionSeeded,
    SeededPosition,
    SeriesStatus,
)
from events.learning import (
    AnswerSubmitted,
    DiagnosisEvidence,
    FailMode,
    FailureDiagnosed,
    PlannedAtom,
    QuestionKind,
    RemediationPlanned,
)
from events.lessons import LessonPhase, LessonPhaseCompleted, PhaseStatus
from events.sagas import SagaDeadlineReached
from events.training import (
    JITInput,
    Lift,
    MainLift,
    PrescribedSet,
    Recovery,
    SessionJitGenerated,
    SessionJitRequested,
    SessionPlan,
    WorkingSet,
)

__all__ = ["STRATEGIES", "envelopes", "payloads"]

# Any Unicode text the catalog accepts: no NUL (Postgres cannot store it) and no
# surrogates (hypothesis leaves those out already); see events/text.py.
chars = st.characters(codec="utf-8", exclude_characters="\x00")
text = st.text(chars, min_size=1, max_size=40).filter(lambda s: s.strip() == s and s != "")
ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=30)
unit = st.floats(min_value=0, max_value=1, allow_nan=False)
aware = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(chars, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(chars, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(chars, max_size=8), json_values, max_size=4)

usage = st.none() | st.builds(
    GenerationUsage,
    strategy=st.sampled_from(["rules", "llm", "llm_fallback"]),
    provider=st.none() | st.sampled_from(["anthropic", "gemini"]),
    input_tokens=st.integers(0, 10**6),
    output_tokens=st.integers(0, 10**6),
    cost_usd=st.floats(0, 100, allow_nan=False),
    latency_ms=st.floats(0, 10**5, allow_nan=False),
)

answers = st.builds(
    AnswerSubmitted,
    learner_id=ident,
    session_id=ident,
    concept_id=st.uuids(),
    question_id=ident,
    question_kind=st.sampled_from(QuestionKind),
    correct=st.booleans(),
    response_time_ms=st.integers(0, 3_600_000),
    answer_given=st.text(chars, max_size=200),
    expected_answer=st.none() | st.text(chars, max_size=50),
    answer_concept_id=st.none() | st.uuids(),
)

diagnoses = st.builds(
    FailureDiagnosed,
    learner_id=ident,
    session_id=ident,
    concept_id=st.uuids(),
    question_id=ident,
    answer_event_id=st.uuids(),
    fail_mode=st.sampled_from(FailMode),
    confidence=unit,
    rationale=st.text(chars, max_size=100),
    evidence=st.builds(
        DiagnosisEvidence,
        rule=ident,
        response_time_ms=st.integers(0, 10**6),
        question_kind=st.sampled_from(QuestionKind),
        concept_attempts=st.integers(1, 1000),
        concept_misses=st.integers(1, 1000),
        concept_prior_correct=st.integers(0, 1000),
        session_answers=st.integers(1, 1000),
        session_minutes=st.floats(0, 1000, allow_nan=False),
        session_recent_accuracy=st.none() | unit,
        response_time_trend=st.none() | st.floats(0, 100, allow_nan=False),
        confused_with_concept_id=st.none() | st.uuids(),
    ),
)


@st.composite
def positions(draw: Any) -> SeededPosition:
    n = draw(st.integers(1, 4))
    moves = [
        CandidateMove(
            rank=i + 1,
            move=draw(st.sampled_from(["8/5 6/5", "24/21 13/11", "13/10 6/5", "24/23 13/9"])),
            equity=draw(st.floats(-3, 3, allow_nan=False)),
            equity_loss=0.0 if i == 0 else draw(st.floats(0, 2, allow_nan=False)),
        )
        for i in range(n)
    ]
    return SeededPosition(
        position_id=draw(
            st.text(
                alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                min_size=14,
                max_size=14,
            )
        ),
        dice=(draw(st.integers(1, 6)), draw(st.integers(1, 6))),
        phase=draw(st.sampled_from(GamePhase)),
        candidate_moves=moves,
        created_at=draw(aware),
    )


@st.composite
def batch_requests(draw: Any) -> BatchRequested:
    total = draw(st.integers(1, 10))
    index = draw(st.integers(0, total - 1))
    size = draw(st.integers(1, 5))
    return BatchRequested(
        artifact_id=draw(st.uuids()),
        project_id=draw(ident),
        batch_index=index,
        total_batches=total,
        drill_indices=[index * size + j for j in range(size)],
        positions=draw(st.lists(positions(), min_size=1, max_size=3)),
        context=BatchContext(
            mental_model=draw(json_objects),
            curriculum=draw(json_objects),
            guru_profile=draw(st.none() | json_objects),
            prompts=BatchPrompts(system_prompt=draw(text), user_prompt_template=draw(text)),
        ),
    )


@st.composite
def batch_completions(draw: Any) -> BatchCompleted:
    success = draw(st.booleans())
    return BatchCompleted(
        artifact_id=draw(st.uuids()),
        batch_index=draw(st.integers(0, 100)),
        success=success,
        drills_generated=draw(st.integers(0, 5)) if success else 0,
        error=None if success else draw(text),
        retry_count=draw(st.integers(0, 3)),
        usage=draw(usage),
    )


@st.composite
def candidate_scores(draw: Any) -> Any:
    breakdown = ScoreBreakdown(**{name: draw(unit) for name in SCORE_WEIGHTS})
    count = draw(st.integers(1, 5))
    return CATALOG.spec("candidate-scored").payload(
        course_id=draw(st.uuids()),
        candidate_index=draw(st.integers(0, count - 1)),
        candidate_count=count,
        score=breakdown.weighted_total(),
        breakdown=breakdown,
        self_review=draw(
            st.none() | st.builds(SelfReview, clarity=unit, age_fit=unit, correctness=unit)
        ),
        issues=draw(st.lists(st.text(chars, max_size=30), max_size=3)),
        approach=draw(st.sampled_from(PedagogicalApproach)),
        temperature=draw(st.floats(0, 2, allow_nan=False)),
        seed=draw(st.integers(-(2**31), 2**31)),
        item_count=draw(st.integers(0, 50)),
        usage=draw(usage),
    )


@st.composite
def lesson_phases(draw: Any) -> LessonPhaseCompleted:
    status = draw(st.sampled_from(PhaseStatus))
    return LessonPhaseCompleted(
        lesson_id=draw(ident),
        phase=draw(st.sampled_from(LessonPhase)),
        status=status,
        output=draw(json_objects.filter(bool)) if status is PhaseStatus.COMPLETED else {},
        skipped_reason=draw(text) if status is PhaseStatus.SKIPPED else None,
        duration_ms=draw(st.integers(0, 10**7)),
        usage=draw(usage),
    )


slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)


@st.composite
def facts(draw: Any) -> Fact:
    value = draw(text.filter(lambda v: len(v) <= 60))
    return Fact(
        attribute=draw(text),
        value=value,
        statement=f"{draw(st.text(chars, max_size=20))}{value}.",
    )


@st.composite
def concepts(draw: Any) -> ConceptImported:
    attrs = draw(st.lists(facts(), max_size=5, unique_by=lambda f: f.attribute))
    return ConceptImported(
        concept_id=draw(st.uuids()),
        slug=draw(slugs),
        pack=draw(slugs),
        cluster_id=draw(st.uuids()),
        cluster_slug=draw(slugs),
        cluster_name=draw(text),
        name=draw(text),
        definition=draw(st.none() | text),
        facts=attrs,
        siblings=draw(st.lists(st.uuids(), max_size=3)),
        procedures=draw(
            st.lists(
                st.builds(
                    Procedure,
                    name=text,
                    kind=st.sampled_from(["steps", "commands"]),
                    steps=st.lists(text, min_size=3, max_size=6, unique=True),
                ),
                max_size=2,
            )
        ),
        calculations=draw(st.lists(st.sampled_from(Calculation), max_size=3, unique=True)),
    )


def _atom_pool() -> list[Any]:
    from services.remediation.rules import AtomTask, make_atoms
    from tests.support.content import EIGRP, OSPF, RIP, SUBNET_MASK

    pool = []
    for concept, siblings in ((OSPF, (EIGRP, RIP)), (SUBNET_MASK, ())):
        pool += make_atoms(AtomTask(concept, siblings, ContentType.PRACTICE, tuple(AtomType), 30))
    return pool


atoms = st.sampled_from(_atom_pool())
planned = st.builds(
    PlannedAtom,
    atom_id=st.uuids(),
    atom_type=st.sampled_from([t.value for t in AtomType]),
    source=st.sampled_from(["existing", "jit"]),
    front=st.text(chars, max_size=100),
)
contexts = st.builds(
    RemediationContext,
    learner_id=ident,
    session_id=ident,
    question_id=ident,
    answer_event_id=st.uuids(),
    diagnosis_event_id=st.uuids(),
    fail_mode=st.sampled_from(FailMode),
    existing=st.lists(planned, max_size=3),
)


@st.composite
def generation_requests(draw: Any) -> AtomGenerationRequested:
    trigger = draw(st.sampled_from(GenerationTrigger))
    return AtomGenerationRequested(
        concept_id=draw(st.uuids()),
        trigger=trigger,
        content_types=draw(st.lists(st.sampled_from(ContentType), min_size=1, max_size=3)),
        atom_count=draw(st.integers(1, 20)),
        learner_id=draw(st.none() | ident),
        fail_mode=draw(st.none() | st.sampled_from(FailMode)),
        strategy=draw(st.none() | st.sampled_from(["rules", "llm", "auto"])),
        remediation=draw(contexts) if trigger is GenerationTrigger.FAILED_QUESTION else None,
    )


@st.composite
def generated(draw: Any) -> AtomsGenerated:
    return AtomsGenerated(
        request_event_id=draw(st.uuids()),
        concept_id=draw(st.uuids()),
        trigger=draw(st.sampled_from(GenerationTrigger)),
        content_types=draw(st.lists(st.sampled_from(ContentType), min_size=1, max_size=3)),
        atoms=draw(st.lists(atoms, max_size=4)),
        from_cache=draw(st.booleans()),
        generation_time_ms=draw(st.integers(0, 10**6)),
        errors=draw(st.lists(st.text(chars, max_size=50), max_size=2)),
        usage=draw(st.lists(usage.filter(bool), max_size=2)),
        remediation=draw(st.none() | contexts),
    )


plans = st.builds(
    RemediationPlanned,
    learner_id=ident,
    session_id=ident,
    concept_id=st.uuids(),
    question_id=ident,
    answer_event_id=st.uuids(),
    diagnosis_event_id=st.uuids(),
    fail_mode=st.sampled_from(FailMode),
    atoms=st.lists(planned, max_size=5),
    jit_requested=st.booleans(),
    jit_generated=st.integers(0, 5),
    from_cache=st.booleans(),
    suggest_break=st.booleans(),
    practice_only=st.booleans(),
    note=st.text(chars, max_size=100),
    errors=st.lists(st.text(chars, max_size=50), max_size=2),
)

deadlines = st.builds(
    SagaDeadlineReached, saga=ident, instance_id=ident, deadline=ident, due_at=aware
)


def _training_input(session_id: str) -> JITInput:
    return JITInput(
        session_id=session_id,
        lifter_id="ada",
        week=1,
        block="base",
        lifts=[Lift(name="squat", one_rm_kg=150, training_max_kg=135)],
        main_lift=MainLift(
            lift="squat", muscles=["quads"], sets=[PrescribedSet(reps=5, percent=0.75)]
        ),
        recovery=Recovery(sleep_hours=7),
    )


STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "answer-submitted": answers,
    "failure-diagnosed": diagnoses,
    "batch-requested": batch_requests(),
    "batch-completed": batch_completions(),
    "candidate-scored": candidate_scores(),
    "lesson-phase-completed": lesson_phases(),
    "saga-deadline-reached": deadlines,
    "concept-imported": concepts(),
    "atom-imported": st.builds(
        lambda a, pack: AtomImported(concept_id=a.concept_id, pack=pack, atom=a), atoms, slugs
    ),
    "atom-generation-requested": generation_requests(),
    "atoms-generated": generated(),
    "remediation-planned": plans,
    "session-jit-requested": st.builds(
        lambda sid, strategy: SessionJitRequested(
            session_id=sid, lifter_id="ada", input=_training_input(sid), strategy=strategy
        ),
        ident,
        st.none() | st.sampled_from(["formula", "llm", "hybrid", "auto"]),
    ),
    "session-jit-generated": st.builds(
        lambda sid, strategy: SessionJitGenerated(
            session_id=sid,
            lifter_id="ada",
            output=SessionPlan(
                main_lift="squat",
                skip_main_lift=False,
                working_sets=[WorkingSet(reps=5, weight_kg=120.0)],
            ),
            jit_strategy=strategy,
            confidence="high",
            input_snapshot=_training_input(sid),
        ),
        ident,
        st.sampled_from(["formula", "llm", "hybrid", "formula_fallback"]),
    ),
    "batch-started": st.builds(
        BatchStarted, artifact_id=st.uuids(), batch_index=st.integers(0, 40)
    ),
    "drill-series-requested": st.builds(
        DrillSeriesRequested,
        artifact_id=st.uuids(),
        project_id=ident,
        target_drill_count=st.integers(1, 200),
        game_phases=st.lists(st.sampled_from(GamePhase), min_size=1, max_size=4),
        max_positions_per_phase=st.none() | st.integers(1, 500),
        batch_size=st.integers(1, 50),
        deadline_s=st.floats(1, 86_400),
        seed=st.none() | st.integers(0, 2**31),
        batched=st.booleans(),
    ),
    "drill-series-completed": st.builds(
        DrillSeriesCompleted,
        artifact_id=st.uuids(),
        status=st.sampled_from(SeriesStatus),
        total_batches=st.integers(1, 40),
        failed_batches=st.lists(st.integers(0, 39), max_size=3),
        warning=st.none() | text,
        disagreements=st.lists(text, max_size=2),
    ),
    "position-seeded": st.builds(
        lambda p, ply, engine: PositionSeeded(
            engine_id=engine,
            position_id=p.position_id,
            dice=p.dice,
            phase=p.phase,
            candidate_moves=p.candidate_moves,
            created_at=p.created_at,
            ply=ply,
        ),
        positions(),
        st.integers(0, 500),
        ident,
    ),
}


def _family_strategies() -> None:
    """A family's tests declare the strategies of its events in ``tests/support/<family>.py``
    as ``EVENT_STRATEGIES``; they join the catalog-wide table here."""
    import importlib
    import pkgutil

    import tests.support

    for info in pkgutil.iter_modules(tests.support.__path__):
        if info.name == "strategies":
            continue
        module = importlib.import_module(f"tests.support.{info.name}")
        STRATEGIES.update(getattr(module, "EVENT_STRATEGIES", {}))


_family_strategies()


def payloads(event_type: str) -> st.SearchStrategy[Payload]:
    return STRATEGIES[event_type]


def envelopes(event_type: str) -> st.SearchStrategy[Envelope]:
    make: Callable[[Payload], Envelope] = lambda p: Envelope.new(p, source="test")  # noqa: E731
    return st.builds(make, payloads(event_type))
