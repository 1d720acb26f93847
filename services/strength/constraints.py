"""Applying an adjustment to the programme's base, and the hard constraints every
strategy's output goes through, whatever the strategy said:

1. MRV cap: when the week's volume of any of the main lift's muscles is at or above
   its MRV, the main lift is skipped; otherwise its sets are cut so that no muscle
   goes past its MRV.
2. Weight floor: never below the empty bar, nor below WEIGHT_FLOOR (50 %) of the
   training max.
3. At least one working set when the main lift is not skipped.
4. Every load is rounded to the nearest weight the bar and the available plate
   pairs can make (and not below the floor).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from events.training import AuxPlan, Equipment, JITInput, SessionPlan, WorkingSet
from services.strength.adjustment import JITAdjustment

__all__ = ["WEIGHT_FLOOR", "apply_adjustment", "enforce", "loadable", "round_load"]

WEIGHT_FLOOR = 0.50


@lru_cache(maxsize=64)
def _loads(bar: float, plates: tuple[tuple[float, int], ...]) -> tuple[float, ...]:
    sums = {0.0}
    for weight, pairs in plates:
        sums |= {round(s + 2 * weight * k, 4) for s in sums for k in range(1, pairs + 1)}
    return tuple(sorted(round(bar + s, 4) for s in sums))


def loadable(equipment: Equipment) -> tuple[float, ...]:
    plates = tuple(sorted((float(w), n) for w, n in equipment.plate_pairs_kg.items() if n > 0))
    return _loads(equipment.bar_kg, plates)


def round_load(target: float, equipment: Equipment, floor: float = 0.0) -> float:
    options = [w for w in loadable(equipment) if w >= floor - 1e-9] or [loadable(equipment)[-1]]
    return min(options, key=lambda w: (abs(w - target), w))


def _aux(input: JITInput, overrides: Mapping[str, str]) -> list[AuxPlan]:
    out = []
    for ex in input.auxiliary:
        status = overrides.get(ex.name, "normal")
        if status == "skip":
            out.append(AuxPlan(name=ex.name, status="skip", sets=0, reps=0, weight_kg=0))
        elif status == "reduce":
            out.append(
                AuxPlan(
                    name=ex.name,
                    status="reduce",
                    sets=max(1, ex.sets - 1),
                    reps=ex.reps,
                    weight_kg=ex.weight_kg,
                )
            )
        else:
            out.append(
                AuxPlan(
                    name=ex.name,
                    status="normal",
                    sets=ex.sets,
                    reps=ex.reps,
                    weight_kg=ex.weight_kg,
                )
            )
    return out


def apply_adjustment(input: JITInput, adjustment: JITAdjustment) -> SessionPlan:
    """The programme's base (training max x prescribed %) changed by the adjustment,
    before the hard constraints."""
    tm = input.training_max()
    prescribed = input.main_lift.sets
    count = max(0, len(prescribed) + adjustment.set_modifier)
    sets = [prescribed[min(i, len(prescribed) - 1)] for i in range(count)]
    working = [
        WorkingSet(reps=s.reps, weight_kg=tm * s.percent * adjustment.intensity_modifier)
        for s in sets
    ]
    top = working[0].weight_kg if working else tm * prescribed[0].percent
    return SessionPlan(
        main_lift=input.main_lift.lift,
        skip_main_lift=adjustment.skip_main_lift,
        warmup=[WorkingSet(reps=w.reps, weight_kg=top * w.percent) for w in input.warmup],
        working_sets=[] if adjustment.skip_main_lift else working,
        auxiliary=_aux(input, adjustment.aux_overrides),
        rationale=list(adjustment.rationale),
        confidence=adjustment.confidence,
    )


def _mrv_room(input: JITInput) -> int | None:
    """Sets the main lift may still add this week (None: no landmarks for its muscles)."""
    rooms = [
        input.landmarks[m].mrv - input.weekly_volume.get(m, 0)
        for m in input.main_lift.muscles
        if m in input.landmarks
    ]
    return min(rooms) if rooms else None


def enforce(plan: SessionPlan, input: JITInput) -> SessionPlan:
    notes = list(plan.rationale)
    skip = plan.skip_main_lift
    sets = list(plan.working_sets)
    room = _mrv_room(input)
    if room is not None and room <= 0 and not skip:
        skip = True
        notes.append("MRV reached for the main lift's muscles: main lift skipped")
    elif room is not None and len(sets) > room:
        sets = sets[:room]
        notes.append(f"sets cut to {room} to stay under MRV")
    if not skip and not sets:
        first = input.main_lift.sets[0]
        sets = [WorkingSet(reps=first.reps, weight_kg=input.training_max() * first.percent)]
        notes.append("at least one working set kept")
    floor = max(input.equipment.bar_kg, WEIGHT_FLOOR * input.training_max())
    eq = input.equipment
    working = (
        []
        if skip
        else [
            WorkingSet(reps=s.reps, weight_kg=round_load(max(s.weight_kg, floor), eq, floor))
            for s in sets
        ]
    )
    warmup = (
        []
        if skip
        else [
            WorkingSet(
                reps=w.reps, weight_kg=round_load(max(w.weight_kg, eq.bar_kg), eq, eq.bar_kg)
            )
            for w in plan.warmup
        ]
    )
    return plan.model_copy(
        update={
            "skip_main_lift": skip,
            "working_sets": working,
            "warmup": warmup,
            "rationale": notes[:10],
        }
    )
