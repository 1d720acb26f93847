"""Shared test data of the strength family: a JIT input."""

from __future__ import annotations

from typing import Any

from events.training import (
    AuxExercise,
    JITInput,
    Lift,
    MainLift,
    PrescribedSet,
    Recovery,
    VolumeLandmarks,
    WarmupStep,
)


def make_input(**kw: Any) -> JITInput:
    values: dict[str, Any] = {
        "session_id": "s-1",
        "lifter_id": "ada",
        "week": 2,
        "block": "accumulation",
        "lifts": [Lift(name="squat", one_rm_kg=180, training_max_kg=160)],
        "main_lift": MainLift(
            lift="squat",
            muscles=["quads", "glutes"],
            sets=[PrescribedSet(reps=5, percent=0.75)] * 3 + [PrescribedSet(reps=5, percent=0.80)],
        ),
        "auxiliary": [
            AuxExercise(name="leg-curl", muscles=["hamstrings"], sets=3, reps=12, weight_kg=40)
        ],
        "recovery": Recovery(sleep_hours=7.5, readiness=6),
        "weekly_volume": {"quads": 6, "glutes": 4, "hamstrings": 4},
        "landmarks": {
            "quads": VolumeLandmarks(mev=8, mrv=20),
            "glutes": VolumeLandmarks(mev=4, mrv=16),
            "hamstrings": VolumeLandmarks(mev=6, mrv=14),
        },
        "warmup": [WarmupStep(percent=0.4, reps=5), WarmupStep(percent=0.6, reps=3)],
    }
    values.update(kw)
    return JITInput(**values)
