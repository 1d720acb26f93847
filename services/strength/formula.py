"""FormulaJITGenerator: the programme's percentages, adjusted by documented rules.

The base is the training max x each prescribed percentage (the programme's week
and block decide those). Recovery signals then adjust it:

| signal | adjustment |
|---|---|
| readiness <= 4, or sleep < 6 h | intensity x 0.90, one set fewer |
| soreness >= 7 on a main-lift muscle | intensity x 0.95, one set fewer |
| soreness >= 9 on a main-lift muscle | main lift skipped |
| last session RPE >= 9.5 | intensity x 0.95 |
| readiness >= 8 and sleep >= 8 h and no soreness >= 4 | one set more |
| auxiliary: a muscle at or over MRV, or soreness >= 9 | skip |
| auxiliary: soreness >= 7 | reduce (one set fewer) |

The result is clamped to the adjustment bounds and goes through the hard
constraints like any other strategy's.
"""

from __future__ import annotations

from events.training import JITInput, SessionPlan
from services.strength.adjustment import JITAdjustment
from services.strength.constraints import apply_adjustment, enforce

__all__ = ["formula_adjustment", "formula_plan"]


def formula_adjustment(input: JITInput) -> JITAdjustment:
    r = input.recovery
    intensity, sets, skip, why = 1.0, 0, False, []
    main_soreness = max((r.soreness.get(m, 0) for m in input.main_lift.muscles), default=0)
    if (r.readiness is not None and r.readiness <= 4) or r.sleep_hours < 6:
        intensity, sets = intensity * 0.90, sets - 1
        why.append("low readiness or short sleep: 10% lighter, one set fewer")
    if main_soreness >= 9:
        skip = True
        why.append("severe soreness in the main lift's muscles: main lift skipped")
    elif main_soreness >= 7:
        intensity, sets = intensity * 0.95, sets - 1
        why.append("sore main-lift muscles: 5% lighter, one set fewer")
    if r.last_session_rpe is not None and r.last_session_rpe >= 9.5:
        intensity *= 0.95
        why.append("last session near max effort: 5% lighter")
    fresh = max(r.soreness.values(), default=0) < 4
    if r.readiness is not None and r.readiness >= 8 and r.sleep_hours >= 8 and fresh:
        sets += 1
        why.append("well recovered: one set more")
    overrides: dict[str, str] = {}
    for ex in input.auxiliary:
        over = any(
            m in input.landmarks and input.weekly_volume.get(m, 0) >= input.landmarks[m].mrv
            for m in ex.muscles
        )
        sore = max((r.soreness.get(m, 0) for m in ex.muscles), default=0)
        if over or sore >= 9:
            overrides[ex.name] = "skip"
        elif sore >= 7:
            overrides[ex.name] = "reduce"
    return JITAdjustment(
        intensity_modifier=min(1.20, max(0.40, round(intensity, 4))),
        set_modifier=min(2, max(-3, sets)),
        skip_main_lift=skip,
        aux_overrides=overrides,  # type: ignore[arg-type]
        rationale=why[:5] or ["recovery normal: the programme as written"],
        confidence="high",
    )


def formula_plan(input: JITInput) -> SessionPlan:
    return enforce(apply_adjustment(input, formula_adjustment(input)), input)
