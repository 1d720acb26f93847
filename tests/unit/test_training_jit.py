"""Training JIT: the seed's four tests, the formula rules, hybrid, and the hard
constraints as properties over any input and any adjustment inside the bounds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.training import (
    Equipment,
    JITInput,
    Lift,
    MainLift,
    PrescribedSet,
    Recovery,
)
from services.generation import Gateway, ProviderTimeout, generate
from services.generation.memory import ScriptedProvider
from services.strength.adjustment import JITAdjustment
from services.strength.constraints import WEIGHT_FLOOR, apply_adjustment, enforce, loadable
from services.strength.formula import formula_adjustment
from services.strength.strategies import TRAINING, hybrid_adjustment
from tests.support.training import make_input

pytestmark = pytest.mark.unit


ADJUST = {
    "intensityModifier": 0.88,
    "setModifier": -1,
    "skipMainLift": False,
    "auxOverrides": {},
    "rationale": ["tired: a bit lighter"],
    "confidence": "medium",
}


async def run(strategy: str, *steps: Any, input: JITInput | None = None) -> Any:
    gateway = Gateway([ScriptedProvider().then(*steps)]) if steps else Gateway()
    return await generate(TRAINING, input or make_input(), strategy=strategy, gateway=gateway)


# The seed's four tests --------------------------------------------------------------
async def test_a_valid_llm_adjustment_is_applied_to_the_base_weight() -> None:
    made = await run("llm", ADJUST)
    base = 160 * 0.75
    assert made.usage.strategy == "llm"
    assert made.value.working_sets[0].weight_kg == pytest.approx(base * 0.88, abs=1.25)
    assert len(made.value.working_sets) == 3 and made.value.confidence == "medium"


async def test_a_timeout_falls_back_to_the_formula() -> None:
    made = await run("llm", ProviderTimeout("no answer within 5.0s", task="training-jit"))
    assert made.usage.strategy == "formula_fallback"
    assert made.usage.fallback_reason is not None and made.usage.fallback_reason.startswith(
        "timeout"
    )
    assert made.value == (await run("formula")).value


async def test_an_out_of_bounds_adjustment_falls_back_to_the_formula() -> None:
    bad = {**ADJUST, "intensityModifier": 0.10}
    made = await run("llm", bad, bad)
    assert made.usage.strategy == "formula_fallback"
    assert made.usage.fallback_reason is not None
    assert made.usage.fallback_reason.startswith("bound_violation")


async def test_the_mrv_cap_overrides_the_llms_skip_main_lift_false() -> None:
    at_mrv = make_input(weekly_volume={"quads": 20, "glutes": 4})
    made = await run("llm", ADJUST, input=at_mrv)
    assert made.usage.strategy == "llm" and made.value.skip_main_lift
    assert made.value.working_sets == [] and any("MRV" in r for r in made.value.rationale)
    near = make_input(weekly_volume={"quads": 18, "glutes": 4})  # room for 2 sets
    assert len((await run("llm", {**ADJUST, "setModifier": 2}, input=near)).value.working_sets) == 2


# formula, hybrid ----------------------------------------------------------------------
def test_the_formula_rules() -> None:
    tired = formula_adjustment(make_input(recovery=Recovery(sleep_hours=5, readiness=3)))
    assert (tired.intensity_modifier, tired.set_modifier) == (0.9, -1)
    sore = formula_adjustment(make_input(recovery=Recovery(sleep_hours=8, soreness={"quads": 9})))
    assert sore.skip_main_lift
    fresh = formula_adjustment(make_input(recovery=Recovery(sleep_hours=8.5, readiness=9)))
    assert fresh.set_modifier == 1 and fresh.intensity_modifier == 1.0
    aux = formula_adjustment(make_input(weekly_volume={"hamstrings": 14}))
    assert aux.aux_overrides == {"leg-curl": "skip"}


def test_hybrid_pulls_a_far_llm_towards_the_formula() -> None:
    formula = formula_adjustment(make_input())
    wild = JITAdjustment.model_validate(
        {
            **ADJUST,
            "intensityModifier": 0.5,
            "setModifier": -3,
            "skipMainLift": True,
            "confidence": "low",
        }
    )
    blended = hybrid_adjustment(wild, formula)
    assert blended.intensity_modifier == pytest.approx(formula.intensity_modifier - 0.10)
    assert blended.set_modifier == formula.set_modifier - 1 and not blended.skip_main_lift


async def test_hybrid_and_auto_resolve() -> None:
    made = await run("hybrid", ADJUST)
    assert made.usage.strategy == "hybrid"
    assert (await run("auto")).usage.strategy == "formula"  # no provider: formula
    assert (await run("auto", ADJUST)).usage.strategy == "llm"


async def test_the_warmup_configuration_is_not_sent() -> None:
    provider = ScriptedProvider().then(ADJUST)
    await generate(TRAINING, make_input(), strategy="llm", gateway=Gateway([provider]))
    assert "warmup" not in provider.calls[0].turns[0].text
    assert "accumulation" in provider.calls[0].turns[0].text


# the hard constraints, for any input and any adjustment inside the bounds ------------------
def _adjustment(
    intensity: float, sets: int, skip: bool, aux: dict[str, str], why: list[str], conf: str
) -> JITAdjustment:
    return JITAdjustment(
        intensity_modifier=intensity,
        set_modifier=sets,
        skip_main_lift=skip,
        aux_overrides=aux,
        rationale=why,
        confidence=conf,  # type: ignore[arg-type]
    )


adjustments = st.builds(
    _adjustment,
    st.floats(0.40, 1.20),
    st.integers(-3, 2),
    st.booleans(),
    st.dictionaries(
        st.sampled_from(["leg-curl", "other"]), st.sampled_from(["skip", "reduce", "normal"])
    ),
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200), max_size=5
    ),
    st.sampled_from(["high", "medium", "low"]),
)
inputs = st.builds(
    make_input,
    lifts=st.builds(
        lambda tm: [Lift(name="squat", one_rm_kg=tm * 1.1, training_max_kg=tm)],
        st.floats(30, 350),
    ),
    main_lift=st.builds(
        lambda sets: MainLift(lift="squat", muscles=["quads", "glutes"], sets=sets),
        st.lists(
            st.builds(PrescribedSet, reps=st.integers(1, 12), percent=st.floats(0.3, 1.1)),
            min_size=1,
            max_size=8,
        ),
    ),
    weekly_volume=st.fixed_dictionaries(
        {"quads": st.integers(0, 30), "glutes": st.integers(0, 30)}
    ),
    recovery=st.builds(
        Recovery,
        sleep_hours=st.floats(0, 12),
        readiness=st.none() | st.integers(1, 10),
        soreness=st.dictionaries(
            st.sampled_from(["quads", "glutes", "hamstrings"]), st.integers(0, 10)
        ),
    ),
    equipment=st.builds(
        Equipment,
        bar_kg=st.sampled_from([15.0, 20.0]),
        plate_pairs_kg=st.just({"25": 6, "10": 2, "5": 1, "2.5": 1, "1.25": 1}),
    ),
)


@settings(max_examples=300, deadline=None)
@given(inputs, adjustments)
def test_every_plan_honours_the_hard_constraints(input: JITInput, adj: JITAdjustment) -> None:
    plan = enforce(apply_adjustment(input, adj), input)
    room = min(input.landmarks[m].mrv - input.weekly_volume.get(m, 0) for m in ("quads", "glutes"))
    if room <= 0:
        assert plan.skip_main_lift and plan.working_sets == []
    if plan.skip_main_lift:
        assert plan.working_sets == []
    else:
        assert 1 <= len(plan.working_sets) <= max(room, 1)
    floor = max(input.equipment.bar_kg, WEIGHT_FLOOR * input.training_max())
    loads = set(loadable(input.equipment))
    for s in plan.working_sets:
        assert s.weight_kg in loads
        assert s.weight_kg >= floor - 1e-9 or s.weight_kg == max(loads)
    for w in plan.warmup:
        assert w.weight_kg in loads and w.weight_kg >= input.equipment.bar_kg
