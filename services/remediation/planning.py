"""The remediation router's decisions (pure): plan now, or generate atoms first.

After a diagnosed wrong answer: pick the concept's existing atoms whose type
suits the fail mode (in priority order). With at least MIN_REMEDIATION_ATOMS (3)
of them, or JIT disabled, the plan is ready. Otherwise a failed_question
generation is needed for 5 - existing atoms, carrying what the plan needs; once
the atoms are made, the plan combines both (``after_generation``).
fatigue_error plans a break and nothing else; executive_error plans existing
practice atoms and never generates.
The plan's id derives from the diagnosis, so redelivery repeats it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from events import Envelope, derive_id
from events.content import (
    MAX_PLAN_ATOMS,
    Atom,
    AtomGenerationRequested,
    AtomsGenerated,
    ContentType,
    GenerationTrigger,
    RemediationContext,
    planned_atoms,
)
from events.learning import (
    PLAN_ROLE,
    FailMode,
    FailureDiagnosed,
    PlannedAtom,
    RemediationPlanned,
)
from services.remediation.mapping import (
    CONTENT_TYPE_ATOM_TYPES,
    MIN_REMEDIATION_ATOMS,
    REMEDIATION_TARGET,
    atom_types_for,
    fail_mode_to_content_types,
)

__all__ = ["after_generation", "for_diagnosis", "matching_atoms", "plan_event"]


def matching_atoms(atoms: Sequence[Atom], fail_mode: FailMode) -> list[Atom]:
    """Existing atoms suited to the fail mode, best-suited types first."""
    if fail_mode is FailMode.FATIGUE_ERROR:
        return []
    if fail_mode is FailMode.EXECUTIVE_ERROR:
        priority = list(CONTENT_TYPE_ATOM_TYPES[ContentType.PRACTICE])
    else:
        priority = atom_types_for(fail_mode_to_content_types(fail_mode), fail_mode)
    rank = {t: i for i, t in enumerate(priority)}
    suited = [a for a in atoms if a.atom_type in rank]
    return sorted(suited, key=lambda a: rank[a.atom_type])  # stable: keeps creation order


def _plan(
    ctx: RemediationContext,
    concept_id: uuid.UUID,
    atoms: list[PlannedAtom],
    note: str,
    **fields: object,
) -> RemediationPlanned:
    return RemediationPlanned(
        learner_id=ctx.learner_id,
        session_id=ctx.session_id,
        concept_id=concept_id,
        question_id=ctx.question_id,
        answer_event_id=ctx.answer_event_id,
        diagnosis_event_id=ctx.diagnosis_event_id,
        fail_mode=ctx.fail_mode,
        atoms=atoms[:MAX_PLAN_ATOMS],
        note=note,
        **fields,  # type: ignore[arg-type]
    )


def for_diagnosis(
    event: Envelope, existing: Sequence[Atom], *, enable_jit: bool
) -> RemediationPlanned | AtomGenerationRequested:
    """The plan, or the generation it needs first, for a failure-diagnosed event."""
    d = event.payload_as(FailureDiagnosed)
    mode = d.fail_mode
    suited = matching_atoms(existing, mode)
    ctx = RemediationContext(
        learner_id=d.learner_id,
        session_id=d.session_id,
        question_id=d.question_id,
        answer_event_id=d.answer_event_id,
        diagnosis_event_id=event.event_id,
        fail_mode=mode,
        existing=planned_atoms(suited[:MAX_PLAN_ATOMS], "existing"),
    )
    if mode is FailMode.FATIGUE_ERROR:
        note = "Fatigue: take a break before the next question."
        return _plan(ctx, d.concept_id, [], note, suggest_break=True)
    if mode is FailMode.EXECUTIVE_ERROR:
        note = "Read the whole question before answering; practice only, no new content."
        return _plan(ctx, d.concept_id, ctx.existing, note, practice_only=True)
    if len(suited) >= MIN_REMEDIATION_ATOMS or not enable_jit:
        why = "" if enable_jit else " (JIT generation is disabled)"
        note = f"{len(suited)} existing atoms suit {mode}{why}."
        return _plan(ctx, d.concept_id, ctx.existing, note)
    return AtomGenerationRequested(
        concept_id=d.concept_id,
        trigger=GenerationTrigger.FAILED_QUESTION,
        content_types=fail_mode_to_content_types(mode),
        atom_count=REMEDIATION_TARGET - len(suited),
        learner_id=d.learner_id,
        fail_mode=mode,
        remediation=ctx,
    )


def plan_event(diagnosis: Envelope, plan: RemediationPlanned, *, source: str) -> Envelope:
    """A plan made at once, as the diagnosis's derived event."""
    return _derived(diagnosis, plan, diagnosis.event_id, source)


def after_generation(event: Envelope, *, source: str) -> Envelope | None:
    """The plan for a failed-question generation's result (None for other triggers)."""
    plan = event.payload_as(AtomsGenerated).completed_plan()
    if plan is None:
        return None
    return _derived(event, plan, plan.diagnosis_event_id, source)


def _derived(
    cause: Envelope, plan: RemediationPlanned, diagnosis_id: uuid.UUID, source: str
) -> Envelope:
    """Derived from ``cause``, with an id from the diagnosis: the plan has one id
    whether it was made at once or after generation."""
    ev = cause.derive(plan, role=PLAN_ROLE, source=source)
    return ev.model_copy(update={"event_id": derive_id(diagnosis_id, PLAN_ROLE)})
