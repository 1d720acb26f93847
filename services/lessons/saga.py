"""The lesson pipeline: a pure saga keyed by lesson (``decide``/``evolve`` on the saga primitive).

State is derived from the lesson's own events only. ``lesson-requested`` starts
it and asks for planning; every ``lesson-phase-completed`` may make phases
ready (``graph.READS``), which are asked for at once with the outputs they
read; a worked example planning did not ask for is skipped here, with the
reason. The assembled lesson is scored; below the threshold (and with
refinement on) one rewrite is requested, its validated candidate is scored by
the original's scorer, and the gate decides (``refine.gate``). The pipeline
closes with ``lesson-completed``; ``lesson-improve-requested`` runs Phase 10
again on the current version.

A phase is requested once: a redelivered event changes nothing (the runtime
guards offsets) and a replay from offset 0 re-derives the same event ids, so a
rebuilt saga asks for exactly the phases that have no completion yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import JsonValue

from events import Context, Envelope
from events.common import GenerationUsage
from events.lessons import (
    LessonCompleted,
    LessonFailed,
    LessonImproveRequested,
    LessonPhase,
    LessonPhaseCompleted,
    LessonPhaseRequested,
    LessonRefined,
    LessonRequested,
    LessonRewriteProposed,
    LessonRewriteRequested,
    LessonScored,
    LessonScoringRequested,
    PhaseStatus,
    RefinementOutcome,
    RefinementTrigger,
    ScoreReport,
    ScoringPurpose,
)
from events.sagas import SagaDeadlineReached
from services.lessons.graph import READS, ready
from services.lessons.settings import LessonSettings
from services.lessons.state import (
    LessonState,
    PendingRefinement,
    conclusion,
    refinement_id,
    verdict_of,
)
from services.runtime.saga import Saga

DEADLINE = "pipeline"

__all__ = ["DEADLINE", "LessonPipelineSaga", "LessonState", "PendingRefinement", "refinement_id"]

P = LessonPhase


class LessonPipelineSaga(Saga[LessonState]):
    name = "lesson-pipeline"
    context = Context.LESSONS
    state_type = LessonState
    event_types = frozenset(
        {
            LessonRequested.event_type,
            LessonPhaseCompleted.event_type,
            LessonScored.event_type,
            LessonRewriteProposed.event_type,
            LessonRefined.event_type,
            LessonImproveRequested.event_type,
            LessonFailed.event_type,
        }
    )

    def __init__(self, settings: LessonSettings | None = None) -> None:
        self.settings = settings or LessonSettings()

    # evolve ----------------------------------------------------------------------------
    def evolve(self, state: LessonState | None, event: Envelope) -> LessonState | None:
        p = event.payload
        if isinstance(p, LessonRequested):
            if state is not None:
                return state  # a lesson is requested once; a repeat changes nothing
            due = event.occurred_at + timedelta(seconds=self.settings.deadline_s)
            fresh = LessonState(
                instance_id=event.key,
                correlation_id=event.correlation_id,
                brief=p,
                deadlines={DEADLINE: due},
            )
            return self._advance(fresh)
        if state is None:
            return None
        if isinstance(p, LessonFailed | SagaDeadlineReached):
            why = p.reason if isinstance(p, LessonFailed) else "not finished by its deadline"
            return state.model_copy(update={"failed": why, "concluded": True, "deadlines": {}})
        if isinstance(p, LessonPhaseCompleted):
            return self._fold_phase(state, p)
        if isinstance(p, LessonScored):
            return self._fold_score(state, p)
        if isinstance(p, LessonRewriteProposed) and self._pending(state, p.refinement_id):
            assert state.pending is not None
            pending = state.pending.model_copy(
                update={"candidate": p.candidate, "changes": p.changes, "usage": p.usage}
            )
            return state.model_copy(update={"pending": pending})
        if isinstance(p, LessonRefined) and self._pending(state, p.refinement_id):
            update: dict[str, Any] = {"pending": None}
            if p.applied and p.candidate is not None:
                update |= {
                    "lesson": p.candidate,
                    "version": p.version,
                    "report": p.candidate_report,
                }
            if p.trigger is RefinementTrigger.AUTO:
                update |= {"concluded": True, "deadlines": {}}
            return state.model_copy(update=update)
        if isinstance(p, LessonImproveRequested) and self._improvable(state) is None:
            settings = self.settings.refinement.rewrite_settings()
            assert state.report is not None
            pending = PendingRefinement(
                refinement_id=p.request_id,
                trigger=RefinementTrigger.IMPROVE,
                settings=settings,
                original_score=state.report.total,
            )
            return state.model_copy(update={"pending": pending})
        return state

    def _fold_phase(self, state: LessonState, p: LessonPhaseCompleted) -> LessonState:
        if p.phase is P.REWRITE or p.phase in state.finished_phases():
            return state
        if p.status is PhaseStatus.SKIPPED:
            state = state.model_copy(
                update={"skipped": {**state.skipped, p.phase.value: p.skipped_reason or ""}}
            )
        else:
            state = state.model_copy(update={"done": {**state.done, p.phase.value: p.output}})
        if p.phase is P.ASSEMBLER:
            lesson = p.output.get("lesson")
            if isinstance(lesson, dict):
                state = state.model_copy(update={"lesson": lesson, "version": 1})
        return self._advance(state)

    def _fold_score(self, state: LessonState, p: LessonScored) -> LessonState:
        if p.purpose is ScoringPurpose.CANDIDATE:
            return state  # the gate's verdict (lesson-refined) changes the state
        if state.report is not None or state.version != 1:
            return state  # the original is scored once
        if p.report is None:
            return state.model_copy(update={"concluded": True, "failed": p.error, "deadlines": {}})
        state = state.model_copy(update={"report": p.report})
        refinement = self.settings.refinement
        if self._should_refine(p.report):
            pending = PendingRefinement(
                refinement_id=refinement_id(state.instance_id, state.version),
                trigger=RefinementTrigger.AUTO,
                settings=refinement.rewrite_settings(),
                original_score=p.report.total,
            )
            return state.model_copy(update={"pending": pending})
        return state.model_copy(update={"concluded": True, "deadlines": {}})

    def _advance(self, state: LessonState) -> LessonState:
        newly = ready(state.finished_phases(), {P(s) for s in state.started})
        if not newly:
            return state
        return state.model_copy(update={"started": [*state.started, *(q.value for q in newly)]})

    def _should_refine(self, report: ScoreReport) -> bool:
        refinement = self.settings.refinement
        return refinement.active() is None and report.total < refinement.score_threshold

    @staticmethod
    def _pending(state: LessonState, rid: uuid.UUID) -> bool:
        return state.pending is not None and state.pending.refinement_id == rid

    def _concludes(self, state: LessonState, p: LessonRefined) -> bool:
        """Whether this verdict ends the pipeline's own Phase 10."""
        return p.trigger is RefinementTrigger.AUTO and self._pending(state, p.refinement_id)

    @staticmethod
    def _improvable(state: LessonState | None) -> str | None:
        """Why improve-lesson cannot run now, or None."""
        if state is None:
            return "no such lesson"
        if state.failed:
            return f"the lesson failed: {state.failed}"
        if state.lesson is None or state.report is None:
            return "the lesson has no scored version yet"
        if state.pending is not None:
            return "a refinement of this lesson is already running"
        return None

    # decide ----------------------------------------------------------------------------
    def decide(self, state: LessonState | None, event: Envelope) -> Sequence[Envelope]:
        p = event.payload
        if isinstance(p, LessonImproveRequested):
            return self._improve(state, event, p)
        if isinstance(p, SagaDeadlineReached):
            return self._too_late(state, event)
        if state is None and not isinstance(p, LessonRequested):
            return ()
        if isinstance(p, LessonRequested) and state is not None:
            return ()
        after = self.evolve(state.model_copy(deep=True) if state else None, event)
        if after is None:
            return ()
        out: list[Envelope] = []
        before = set(state.started) if state else set()
        for name in after.started:
            if name not in before:
                out.append(self._start(after, P(name), event))
        if (
            isinstance(p, LessonPhaseCompleted)
            and p.phase is P.ASSEMBLER
            and state
            and state.version == 0
        ):
            out.append(self._score(after, event, ScoringPurpose.ORIGINAL, after.lesson))
        if isinstance(p, LessonScored):
            out += self._after_score(state, after, event, p)
        if isinstance(p, LessonRewriteProposed) and state and self._pending(state, p.refinement_id):
            out.append(
                self._score(after, event, ScoringPurpose.CANDIDATE, p.candidate, p.refinement_id)
            )
        if isinstance(p, LessonRefined) and state and self._concludes(state, p):
            # A verdict of the rewriter carries the rewrite's usage; the gate's, none.
            assert state.pending is not None
            rewrite = p.usage or state.pending.usage
            out += self._conclude_refined(after, event, p, rewrite)
        return out

    def _source(self) -> str:
        return f"saga.{self.name}"

    def _start(self, state: LessonState, phase: LessonPhase, event: Envelope) -> Envelope:
        plan = state.done.get(P.PLANNING.value, {})
        if phase is P.WORKED_EXAMPLE and not plan.get("needsWorkedExample"):
            skipped = LessonPhaseCompleted(
                lesson_id=state.instance_id,
                phase=phase,
                status=PhaseStatus.SKIPPED,
                skipped_reason="planning decided no worked example is needed",
                duration_ms=0,
            )
            return event.derive(skipped, role=f"phase:{phase.value}:skipped", source=self._source())
        request = LessonPhaseRequested(
            lesson_id=state.instance_id,
            phase=phase,
            strategy=state.brief.strategy,
            brief=state.brief,
            inputs={q.value: state.done[q.value] for q in READS[phase] if q.value in state.done},
        )
        return event.derive(request, role=f"phase:{phase.value}", source=self._source())

    def _score(
        self,
        state: LessonState,
        event: Envelope,
        purpose: ScoringPurpose,
        lesson: dict[str, JsonValue] | None,
        rid: uuid.UUID | None = None,
    ) -> Envelope:
        assert lesson is not None
        scoring = self.settings.scoring
        method = scoring.method
        if purpose is ScoringPurpose.CANDIDATE and state.report is not None:
            method = state.report.method  # the candidate is judged by the original's scorer
        request = LessonScoringRequested(
            lesson_id=state.instance_id,
            purpose=purpose,
            refinement_id=rid,
            lesson=lesson,
            strategy=state.brief.strategy,
            method=method,
            temperature=scoring.temperature,
            max_tokens=scoring.max_tokens,
        )
        return event.derive(request, role=f"score:{purpose.value}", source=self._source())

    def _after_score(
        self, state: LessonState | None, after: LessonState, event: Envelope, p: LessonScored
    ) -> list[Envelope]:
        if state is None:
            return []
        if p.purpose is ScoringPurpose.CANDIDATE:
            if not self._pending(state, p.refinement_id or uuid.UUID(int=0)):
                return []
            assert state.pending is not None
            return [self._verdict(state, event, state.pending, p)]
        if state.report is not None or state.version != 1:
            return []
        if p.report is None:
            failed = LessonFailed(
                lesson_id=state.instance_id, phase=P.REWRITE, reason=f"scoring failed: {p.error}"
            )
            return [event.derive(failed, role="failed", source=self._source())]
        if after.pending is not None:
            request = LessonRewriteRequested(
                lesson_id=state.instance_id,
                refinement_id=after.pending.refinement_id,
                trigger=RefinementTrigger.AUTO,
                lesson=after.lesson or {},
                report=p.report,
                strategy=state.brief.strategy,
                settings=after.pending.settings,
            )
            return [event.derive(request, role="rewrite", source=self._source())]
        refinement = self.settings.refinement
        why = refinement.active() or (
            f"score {p.report.total:g} is at or above the threshold {refinement.score_threshold:g}"
        )
        skipped = LessonPhaseCompleted(
            lesson_id=state.instance_id,
            phase=P.REWRITE,
            status=PhaseStatus.SKIPPED,
            skipped_reason=why,
            duration_ms=0,
        )
        done = LessonCompleted(
            lesson_id=state.instance_id, version=after.version, score=p.report.total, refined=False
        )
        return [
            event.derive(skipped, role="phase:rewrite:skipped", source=self._source()),
            event.derive(done, role="completed", source=self._source()),
        ]

    def _verdict(
        self, state: LessonState, event: Envelope, pending: PendingRefinement, p: LessonScored
    ) -> Envelope:
        refined = verdict_of(state, pending, p)
        return event.derive(refined, role="refined", source=self._source())

    def _conclude_refined(
        self,
        after: LessonState,
        event: Envelope,
        p: LessonRefined,
        rewrite: GenerationUsage | None,
    ) -> list[Envelope]:
        phase, done = conclusion(after, p, rewrite)
        return [
            event.derive(phase, role="phase:rewrite", source=self._source()),
            event.derive(done, role="completed", source=self._source()),
        ]

    def _too_late(self, state: LessonState | None, event: Envelope) -> list[Envelope]:
        """The pipeline's deadline passed: the lesson fails, naming the phase it waited for."""
        if state is None or state.concluded:
            return []
        waiting = [q for q in state.started if P(q) not in state.finished_phases()]
        phase = P(waiting[0]) if waiting else P.REWRITE
        failed = LessonFailed(
            lesson_id=state.instance_id,
            phase=phase,
            reason=f"not finished within {self.settings.deadline_s:g} s",
        )
        return [event.derive(failed, role="failed", source=self._source())]

    def _improve(
        self, state: LessonState | None, event: Envelope, p: LessonImproveRequested
    ) -> list[Envelope]:
        why = self._improvable(state)
        if why is not None:
            failed = LessonRefined(
                lesson_id=p.lesson_id,
                refinement_id=p.request_id,
                trigger=RefinementTrigger.IMPROVE,
                outcome=RefinementOutcome.FAILED,
                reason=why,
                original_score=state.report.total if state and state.report else None,
            )
            return [event.derive(failed, role="refined", source=self._source())]
        assert state is not None and state.report is not None and state.lesson is not None
        request = LessonRewriteRequested(
            lesson_id=state.instance_id,
            refinement_id=p.request_id,
            trigger=RefinementTrigger.IMPROVE,
            lesson=state.lesson,
            report=state.report,
            strategy=p.strategy or state.brief.strategy,
            settings=self.settings.refinement.rewrite_settings(),
        )
        return [event.derive(request, role="rewrite", source=self._source())]
