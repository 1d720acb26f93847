"""Drills context: backgammon drill series generated in batches (drill-batched-generation.md).

Keyed by the series artifact, so a series' batch requests, completions and
deadlines stay in order on one partition.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal, Self

from pydantic import AwareDatetime, Field, JsonValue, model_validator

from events.catalog import event
from events.common import GenerationUsage, Identifier, Model
from events.envelope import Payload
from events.topics import Context

__all__ = [
    "BatchCompleted",
    "BatchContext",
    "BatchPrompts",
    "BatchRequested",
    "BatchStarted",
    "CandidateMove",
    "Drill",
    "DrillSeriesCompleted",
    "DrillSeriesRequested",
    "GamePhase",
    "PositionSeeded",
    "Principle",
    "SeededPosition",
    "SeriesStatus",
]


class GamePhase(StrEnum):
    OPENING = "OPENING"
    EARLY = "EARLY"
    MIDDLE = "MIDDLE"
    BEAROFF = "BEAROFF"


class CandidateMove(Model):
    """One of the engine's ranked plays for a position and roll."""

    rank: int = Field(ge=1)
    move: str = Field(min_length=1, max_length=64, description="e.g. '8/5 6/5'")
    equity: float
    equity_loss: float = Field(ge=0, description="equity given up against the best play")


class SeededPosition(Model):
    """A position from the position library, with the engine's ground truth."""

    position_id: str = Field(min_length=1, max_length=32, description="GNU Backgammon position id")
    dice: tuple[int, int]
    phase: GamePhase
    candidate_moves: list[CandidateMove] = Field(min_length=1)
    created_at: AwareDatetime

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not all(1 <= d <= 6 for d in self.dice):
            raise ValueError("dice must be between 1 and 6")
        ranks = [m.rank for m in self.candidate_moves]
        if ranks != sorted(ranks) or len(set(ranks)) != len(ranks):
            raise ValueError("candidate_moves must be ordered by unique rank")
        return self


@event("position-seeded", context=Context.DRILLS, key="position_id")
class PositionSeeded(Payload):
    """A position of the library, with the engine's ranked plays for its roll.

    OPENING holds the 21 rolls from the starting position; the other phases hold
    positions met in engine self-play. Its id derives from engine, position and
    roll, so seeding the library again changes nothing.
    """

    engine_id: Identifier
    position_id: str = Field(min_length=1, max_length=32)
    dice: tuple[int, int]
    phase: GamePhase
    candidate_moves: list[CandidateMove] = Field(min_length=1)
    created_at: AwareDatetime
    ply: int = Field(ge=0, description="half-moves into the self-play game (0: opening)")

    def seeded(self) -> SeededPosition:
        return SeededPosition(
            position_id=self.position_id,
            dice=self.dice,
            phase=self.phase,
            candidate_moves=self.candidate_moves,
            created_at=self.created_at,
        )


class Principle(StrEnum):
    """What a drill teaches, read from the best play's shape."""

    POINT_MAKING = "point-making"
    HITTING = "hitting"
    RUNNING = "running"
    SPLITTING = "splitting"
    BUILDING = "building"
    BEARING_OFF = "bearing-off"
    ENTERING = "entering"


class Drill(Model):
    """A best-play question on a library position, keyed to the engine's best play."""

    index: int = Field(ge=0, description="place in the series")
    position_id: str = Field(min_length=1, max_length=32)
    dice: tuple[int, int]
    phase: GamePhase
    question: str = Field(min_length=1, max_length=500)
    options: list[str] = Field(min_length=2, max_length=5)
    answer_index: int = Field(ge=0)
    best_move: str = Field(min_length=1, max_length=64)
    explanations: list[str] = Field(
        max_length=5, description="why each other option is worse: its equity loss"
    )
    principle: Principle

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.answer_index >= len(self.options):
            raise ValueError("answer_index must point at an option")
        if self.options[self.answer_index] != self.best_move:
            raise ValueError("the keyed option must be the best move")
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be distinct")
        return self


@event("drill-series-requested", context=Context.DRILLS, key="artifact_id")
class DrillSeriesRequested(Payload):
    """An author asks for a drill series drawn from the position library."""

    artifact_id: uuid.UUID
    project_id: Identifier
    engine_id: Literal["gnubg"] = "gnubg"
    target_drill_count: int = Field(default=21, ge=1, le=200)
    game_phases: list[GamePhase] = Field(default_factory=lambda: [GamePhase.OPENING], min_length=1)
    max_positions_per_phase: int | None = Field(default=None, ge=1, le=500)
    batch_size: int = Field(default=5, ge=1, le=50)
    deadline_s: float = Field(default=480.0, gt=0, le=86_400)
    seed: int | None = Field(default=None, description="position sampling; None: vary")
    batched: bool = Field(
        default=True, description="ENABLE_BATCH_DRILL_GENERATION; false: one single batch"
    )


class SeriesStatus(StrEnum):
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@event("drill-series-completed", context=Context.DRILLS, key="artifact_id")
class DrillSeriesCompleted(Payload):
    """The series is finished: every batch reported, or its deadline passed.

    COMPLETED with ``warning`` when some batches failed; FAILED when all did or
    none reported by the deadline. ``drills`` is the artifact, ordered by index,
    and ``disagreements`` what verification against the engine found.
    """

    artifact_id: uuid.UUID
    status: SeriesStatus
    total_batches: int = Field(ge=1)
    failed_batches: list[int] = Field(default_factory=list)
    warning: str | None = Field(default=None, max_length=2000)
    drills: list[Drill] = Field(default_factory=list, max_length=200)
    disagreements: list[str] = Field(default_factory=list, max_length=200)


class BatchPrompts(Model):
    system_prompt: str = Field(min_length=1)
    user_prompt_template: str = Field(min_length=1)


class BatchContext(Model):
    """What every batch of a series shares: the teaching material and prompts."""

    mental_model: dict[str, JsonValue]
    curriculum: dict[str, JsonValue]
    guru_profile: dict[str, JsonValue] | None = None
    prompts: BatchPrompts


@event("batch-requested", context=Context.DRILLS, key="artifact_id")
class BatchRequested(Payload):
    """The series orchestrator asks a batch worker for one batch of drills.

    The worker generates exactly ``len(drill_indices)`` drills from
    ``positions`` only, independently of the other batches.
    """

    artifact_id: uuid.UUID
    project_id: Identifier
    engine_id: Identifier = "gnubg"
    batch_index: int = Field(ge=0)
    total_batches: int = Field(ge=1)
    drill_indices: list[int] = Field(min_length=1)
    positions: list[SeededPosition] = Field(min_length=1)
    context: BatchContext
    deadline_at: AwareDatetime | None = Field(
        default=None, description="when the series gives up waiting for its batches"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.batch_index >= self.total_batches:
            raise ValueError("batch_index must be below total_batches")
        if len(set(self.drill_indices)) != len(self.drill_indices):
            raise ValueError("drill_indices must be unique")
        if min(self.drill_indices) < 0:
            raise ValueError("drill_indices must not be negative")
        return self


@event("batch-started", context=Context.DRILLS, key="artifact_id")
class BatchStarted(Payload):
    """A batch worker took a batch: its drills are GENERATING."""

    artifact_id: uuid.UUID
    batch_index: int = Field(ge=0)


@event("batch-completed", context=Context.DRILLS, key="artifact_id")
class BatchCompleted(Payload):
    """A batch worker finished a batch, successfully or after its retries ran out."""

    artifact_id: uuid.UUID
    batch_index: int = Field(ge=0)
    success: bool
    drills_generated: int = Field(ge=0)
    error: str | None = Field(default=None, max_length=2000)
    retry_count: int = Field(ge=0)
    usage: GenerationUsage | None = None
    drills: list[Drill] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.drills and len(self.drills) != self.drills_generated:
            raise ValueError("drills_generated must count the drills carried")
        if not self.success and not self.error:
            raise ValueError("a failed batch must carry its error")
        if not self.success and self.drills_generated:
            raise ValueError("a failed batch generated no drills")
        return self
