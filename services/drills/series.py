"""Phase 2 of drill-batched-generation.md, the pure parts: splitting a series into
batches, and what the batches' results make of the series."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from events.drills import SeededPosition

__all__ = ["DEFAULT_BATCH_SIZE", "BatchPlan", "Outcome", "outcome", "plan_batches"]

DEFAULT_BATCH_SIZE = 5


@dataclass(frozen=True)
class BatchPlan:
    batch_index: int
    drill_indices: list[int]
    positions: list[SeededPosition]  # one per drill, in drill order


def plan_batches(
    positions: Sequence[SeededPosition], target: int, batch_size: int = DEFAULT_BATCH_SIZE
) -> list[BatchPlan]:
    """ceil(target / batch_size) batches; drill i is made from position i (cycling when
    there are fewer positions than drills); each batch gets only its own positions."""
    if target < 1:
        raise ValueError(f"targetDrillCount must be at least 1, got {target}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if not positions:
        raise ValueError("no positions to make drills from")
    plans = []
    for b in range(math.ceil(target / batch_size)):
        indices = list(range(b * batch_size, min((b + 1) * batch_size, target)))
        plans.append(BatchPlan(b, indices, [positions[i % len(positions)] for i in indices]))
    return plans


@dataclass(frozen=True)
class Outcome:
    status: Literal["COMPLETED", "FAILED"]
    failed: list[int]
    warning: str | None


def outcome(total: int, succeeded: Mapping[int, bool], *, deadline_passed: bool) -> Outcome | None:
    """None while batches are still out and the deadline has not passed.

    All ok: COMPLETED. Some failed (or missing at the deadline): COMPLETED with a
    warning naming them. All failed, or none by the deadline: FAILED.
    """
    if len(succeeded) < total and not deadline_passed:
        return None
    failed = sorted(i for i in range(total) if not succeeded.get(i, False))
    if len(failed) == total:
        why = "no batch finished before the deadline" if not succeeded else "every batch failed"
        return Outcome("FAILED", failed, why)
    if failed:
        missing = [i for i in failed if i not in succeeded]
        late = f" ({len(missing)} not finished by the deadline)" if missing else ""
        return Outcome("COMPLETED", failed, f"batches {failed} failed{late}")
    return Outcome("COMPLETED", [], None)
