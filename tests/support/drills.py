"""Shared test data of the drills family: a position library, requests, a series run in memory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from events import Envelope
from events.drills import (
    BatchContext,
    BatchPrompts,
    BatchRequested,
    CandidateMove,
    DrillSeriesCompleted,
    DrillSeriesRequested,
    GamePhase,
    PositionSeeded,
    SeededPosition,
)
from services.bus.consumer import Delivery
from services.bus.memory import InMemoryPublisher
from services.drills.agents import BatchWorker, SeriesOrchestrator
from services.drills.library import OPENING_ROLLS
from services.drills.saga import DrillSeriesSaga, DrillSeriesState
from services.runtime.saga import InMemorySagaStore, SagaHandler
from tests.support.helpers import guarded

NOW = datetime(2026, 11, 22, tzinfo=UTC)


MOVES = [
    CandidateMove(rank=i + 1, move=m, equity=0.2 - i * 0.05, equity_loss=i * 0.05)
    for i, m in enumerate(["8/5 6/5", "24/23 13/10", "24/20", "24/21 6/5", "13/9"])
]


def library(per_phase: int = 25) -> dict[GamePhase, list[SeededPosition]]:
    lib = {
        GamePhase.OPENING: [
            SeededPosition(
                position_id="4HPwATDgc/ABMA",
                dice=roll,
                phase=GamePhase.OPENING,
                candidate_moves=MOVES,
                created_at=NOW,
            )
            for roll in reversed(OPENING_ROLLS)  # stored in any order
        ]
    }
    for phase in (GamePhase.EARLY, GamePhase.MIDDLE, GamePhase.BEAROFF):
        lib[phase] = [
            SeededPosition(
                position_id=f"{phase.value[:4]}{i:06d}AAAA",
                dice=(6, 1 + i % 6),
                phase=phase,
                candidate_moves=MOVES,
                created_at=NOW,
            )
            for i in range(per_phase)
        ]
    return lib


ARTIFACT = uuid.uuid4()  # the series of the saga tests
SAGA_T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def requested(i: int, total: int = 3) -> BatchRequested:
    position = SeededPosition(
        position_id="4HPwATDgc/ABMA",
        dice=(3, 1),
        phase=GamePhase.OPENING,
        candidate_moves=[CandidateMove(rank=1, move="8/5 6/5", equity=0.16, equity_loss=0.0)],
        created_at=SAGA_T0,
    )
    return BatchRequested(
        artifact_id=ARTIFACT,
        project_id="p",
        batch_index=i,
        total_batches=total,
        drill_indices=[i * 5 + j for j in range(5)],
        positions=[position],
        context=BatchContext(
            mental_model={},
            curriculum={},
            prompts=BatchPrompts(system_prompt="s", user_prompt_template="u"),
        ),
    )


def forced_position() -> Envelope:
    """A BEAROFF position with one legal play: no drill can be made from it, so the batch
    it lands in fails after its retries."""
    return Envelope.new(
        PositionSeeded(
            engine_id="gnubg",
            position_id="FORCED0000AAAA",
            dice=(6, 6),
            phase=GamePhase.BEAROFF,
            candidate_moves=[CandidateMove(rank=1, move="6/off(4)", equity=1.0, equity_loss=0)],
            created_at=datetime(2026, 11, 22, tzinfo=UTC),
            ply=0,
        ),
        source="test",
    )


def library_events() -> list[Envelope]:
    return [
        Envelope.new(
            PositionSeeded(
                engine_id="gnubg",
                position_id=p.position_id,
                dice=p.dice,
                phase=p.phase,
                candidate_moves=p.candidate_moves,
                created_at=p.created_at,
                ply=0,
            ),
            source="test",
        )
        for positions in library(30).values()
        for p in positions
    ]


T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


HERE = Delivery("t.drills", 0, 0, None, b"", ())


async def lib(engine: str) -> dict:  # type: ignore[type-arg]
    return library(30)


def request(**kw: object) -> Envelope:
    values: dict[str, object] = {
        "artifact_id": uuid.uuid4(),
        "project_id": "p1",
        "target_drill_count": 25,
        "game_phases": [GamePhase.MIDDLE],
        "seed": 1,
    }
    values.update(kw)
    return Envelope.new(DrillSeriesRequested(**values), source="test", occurred_at=T0)  # type: ignore[arg-type]


async def run_series(
    req: Envelope, *, break_batch: int | None = None, deliver: bool = True
) -> tuple[list[Envelope], list[Envelope], InMemoryPublisher, SagaHandler]:
    batches = list(await SeriesOrchestrator(lib).handle(req, HERE))
    if break_batch is not None:  # a forced play: no drill can be made from it
        r = batches[break_batch].payload_as(BatchRequested)
        forced = r.positions[0].model_copy(
            update={"candidate_moves": [CandidateMove(rank=1, move="6/1", equity=0, equity_loss=0)]}
        )
        batches[break_batch] = batches[break_batch].model_copy(
            update={"payload": r.model_copy(update={"positions": [forced, *r.positions[1:]]})}
        )
    worker = BatchWorker()
    results = [e for b in batches for e in (await guarded(worker, b))[1:]] if deliver else []
    pub = InMemoryPublisher()
    saga = SagaHandler(DrillSeriesSaga(), InMemorySagaStore(DrillSeriesState), pub)
    for offset, e in enumerate([*batches, *results]):
        await saga.handle(e, Delivery("t.drills", 0, offset, None, b"", ()))
    return batches, results, pub, saga


def finished(pub: InMemoryPublisher) -> DrillSeriesCompleted:
    (done,) = pub.of_type(DrillSeriesCompleted.event_type)
    return done.payload_as(DrillSeriesCompleted)
