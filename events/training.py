"""Training context: strength-training sessions and their JIT adjustment
(training-llm-jit-generator.md).

Keyed by session: a session's request and its adjustment stay in order.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from events.catalog import event
from events.common import GenerationUsage, Identifier, Model
from events.envelope import Payload
from events.topics import Context

__all__ = [
    "CONTEXT",
    "AuxExercise",
    "AuxPlan",
    "Equipment",
    "JITInput",
    "Lift",
    "MainLift",
    "PrescribedSet",
    "Recovery",
    "SessionJitGenerated",
    "SessionJitRequested",
    "SessionPlan",
    "VolumeLandmarks",
    "WarmupStep",
    "WorkingSet",
]

CONTEXT = Context.TRAINING

Kg = float


class Lift(Model):
    name: Identifier
    one_rm_kg: Kg = Field(gt=0, le=600)
    training_max_kg: Kg = Field(gt=0, le=600, description="the programme's working max")


class PrescribedSet(Model):
    reps: int = Field(ge=1, le=30)
    percent: float = Field(ge=0.3, le=1.1, description="of the training max")


class MainLift(Model):
    """Today's main lift as the programme prescribes it (week, block, percentages)."""

    lift: Identifier
    muscles: list[Identifier] = Field(min_length=1, max_length=8)
    sets: list[PrescribedSet] = Field(min_length=1, max_length=12)


class AuxExercise(Model):
    name: Identifier
    muscles: list[Identifier] = Field(min_length=1, max_length=6)
    sets: int = Field(ge=1, le=10)
    reps: int = Field(ge=1, le=30)
    weight_kg: Kg = Field(ge=0, le=600)


class Recovery(Model):
    sleep_hours: float = Field(ge=0, le=24)
    soreness: dict[Identifier, int] = Field(
        default_factory=dict, description="0 (none) to 10 (severe), per muscle"
    )
    readiness: int | None = Field(default=None, ge=1, le=10)
    last_session_rpe: float | None = Field(default=None, ge=1, le=10)

    @model_validator(mode="after")
    def _soreness_range(self) -> Self:
        bad = [m for m, v in self.soreness.items() if not 0 <= v <= 10]
        if bad:
            raise ValueError(f"soreness must be 0..10 (muscles {bad})")
        return self


class VolumeLandmarks(Model):
    mev: int = Field(ge=0, le=60, description="minimum effective volume, sets a week")
    mrv: int = Field(ge=1, le=60, description="maximum recoverable volume, sets a week")


class WarmupStep(Model):
    percent: float = Field(ge=0, le=1)
    reps: int = Field(ge=1, le=20)


class Equipment(Model):
    bar_kg: Kg = Field(default=20.0, gt=0, le=50)
    plate_pairs_kg: dict[str, int] = Field(
        default_factory=lambda: {"25": 4, "20": 2, "15": 2, "10": 2, "5": 2, "2.5": 2, "1.25": 2},
        description="plate weight -> pairs available",
    )


class JITInput(Model):
    """Everything a coach would look at before today's session."""

    session_id: Identifier
    lifter_id: Identifier
    week: int = Field(ge=1, le=52)
    block: Identifier
    lifts: list[Lift] = Field(min_length=1)
    main_lift: MainLift
    auxiliary: list[AuxExercise] = Field(default_factory=list, max_length=12)
    recovery: Recovery
    weekly_volume: dict[Identifier, int] = Field(
        default_factory=dict, description="hard sets done this week, per muscle"
    )
    landmarks: dict[Identifier, VolumeLandmarks] = Field(default_factory=dict)
    warmup: list[WarmupStep] = Field(default_factory=list, max_length=8)
    equipment: Equipment = Field(default_factory=Equipment)

    @model_validator(mode="after")
    def _main_lift_known(self) -> Self:
        if self.main_lift.lift not in {lift.name for lift in self.lifts}:
            raise ValueError(f"main_lift.lift {self.main_lift.lift!r} is not among lifts")
        return self

    def training_max(self) -> Kg:
        return next(lift.training_max_kg for lift in self.lifts if lift.name == self.main_lift.lift)


class WorkingSet(Model):
    reps: int = Field(ge=1)
    weight_kg: Kg = Field(ge=0)


class AuxPlan(Model):
    name: Identifier
    status: Literal["normal", "reduce", "skip"]
    sets: int = Field(ge=0)
    reps: int = Field(ge=0)
    weight_kg: Kg = Field(ge=0)


class SessionPlan(Model):
    """Today's session: the main lift's sets (sets x reps @ kg), warm-up and auxiliaries."""

    main_lift: Identifier
    skip_main_lift: bool
    warmup: list[WorkingSet] = Field(default_factory=list)
    working_sets: list[WorkingSet] = Field(default_factory=list)
    auxiliary: list[AuxPlan] = Field(default_factory=list)
    rationale: list[str] = Field(default_factory=list, max_length=10)
    confidence: Literal["high", "medium", "low"] = "high"


@event("session-jit-requested", context=Context.TRAINING, key="session_id")
class SessionJitRequested(Payload):
    """The app asks for today's session to be adjusted just in time."""

    session_id: Identifier
    lifter_id: Identifier
    input: JITInput
    strategy: Literal["formula", "llm", "hybrid", "auto"] | None = None

    @model_validator(mode="after")
    def _same_session(self) -> Self:
        if self.input.session_id != self.session_id:
            raise ValueError("input.session_id must be the session's id")
        return self


@event("session-jit-generated", context=Context.TRAINING, key="session_id")
class SessionJitGenerated(Payload):
    """Today's session as adjusted, with the strategy that made it and what it saw."""

    session_id: Identifier
    lifter_id: Identifier
    output: SessionPlan
    jit_strategy: Literal["formula", "llm", "hybrid", "formula_fallback"]
    rationale: list[str] = Field(default_factory=list, max_length=10)
    confidence: Literal["high", "medium", "low"]
    input_snapshot: JITInput
    usage: GenerationUsage | None = None
