"""The training family on the strategy registry: formula (the rules), llm and hybrid.

- llm: the input minus the warm-up configuration goes to the gateway (timeout 5 s)
  for a bounded ``JITAdjustment``, applied to the formula base and put through
  the hard constraints. A timeout, transport error or bound violation falls back
  to the formula and records ``formula_fallback``.
- hybrid: the llm's adjustment, pulled towards the formula's where they disagree
  strongly: intensity within +/-0.10 of the formula's, sets within one of it, and
  the main lift skipped only when the formula skips it too or the llm is highly
  confident.
"""

from __future__ import annotations

from events.training import JITInput, SessionPlan
from services.generation import Family, Gateway, Generated, GenerationRequest, register
from services.strength.adjustment import JITAdjustment
from services.strength.constraints import apply_adjustment, enforce
from services.strength.formula import formula_adjustment, formula_plan

__all__ = ["LLM_TIMEOUT_S", "TRAINING", "hybrid_adjustment"]

LLM_TIMEOUT_S = 5.0


async def _ask(input: JITInput, gateway: Gateway) -> Generated[JITAdjustment]:
    context = input.model_dump(mode="json", exclude={"warmup"})
    return await gateway.generate(
        GenerationRequest(
            task="training-jit",
            family="training",
            content=context,
            output=JITAdjustment,
            temperature=0.2,
            timeout_s=LLM_TIMEOUT_S,
            max_tokens=600,
        )
    )


async def llm(input: JITInput, gateway: Gateway) -> Generated[SessionPlan]:
    made = await _ask(input, gateway)
    return Generated(enforce(apply_adjustment(input, made.value), input), made.usage)


def hybrid_adjustment(model: JITAdjustment, formula: JITAdjustment) -> JITAdjustment:
    low, high = formula.intensity_modifier - 0.10, formula.intensity_modifier + 0.10
    skip = formula.skip_main_lift or (model.skip_main_lift and model.confidence == "high")
    return model.model_copy(
        update={
            "intensity_modifier": min(
                1.20, max(0.40, min(high, max(low, model.intensity_modifier)))
            ),
            "set_modifier": min(
                formula.set_modifier + 1, max(formula.set_modifier - 1, model.set_modifier)
            ),
            "skip_main_lift": skip,
        }
    )


async def hybrid(input: JITInput, gateway: Gateway) -> Generated[SessionPlan]:
    made = await _ask(input, gateway)
    blended = hybrid_adjustment(made.value, formula_adjustment(input))
    usage = made.usage.model_copy(update={"strategy": "hybrid"})
    return Generated(enforce(apply_adjustment(input, blended), input), usage)


TRAINING: Family[JITInput, SessionPlan] = register(
    Family(
        "training", formula_plan, llm=llm, hybrid=hybrid, rules_name="formula", task="training-jit"
    )
)
