"""Cost estimates from published list prices (USD per million tokens).

Prices change; this table is an estimate for dashboards, not a bill. A model
not listed costs 0.0 and is named in the usage record, so it shows up.
Matching is by prefix, so dated snapshots (claude-sonnet-4-5-20250929) find
their family.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRICES", "Price", "estimate_cost"]


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    output: float
    cached_input: float


PRICES: dict[str, Price] = {
    "claude-opus-4-5": Price(5.0, 25.0, 0.50),
    "claude-opus-4": Price(15.0, 75.0, 1.50),
    "claude-sonnet-4": Price(3.0, 15.0, 0.30),
    "claude-haiku-4-5": Price(1.0, 5.0, 0.10),
    "claude-3-5-haiku": Price(0.80, 4.0, 0.08),
    "gemini-2.5-pro": Price(1.25, 10.0, 0.125),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, 0.01),
    "gemini-2.5-flash": Price(0.30, 2.50, 0.03),
    "gemini-2.0-flash": Price(0.10, 0.40, 0.025),
}


def estimate_cost(model: str | None, input_tokens: int, output_tokens: int, cached: int) -> float:
    """``input_tokens`` counts every prompt token; ``cached`` of them bill at the cache rate."""
    if not model:
        return 0.0
    price = next(
        (
            p
            for name, p in sorted(PRICES.items(), key=lambda i: -len(i[0]))
            if model.startswith(name)
        ),
        None,
    )
    if price is None:
        return 0.0
    fresh = max(input_tokens - cached, 0)
    return (fresh * price.input + cached * price.cached_input + output_tokens * price.output) / 1e6
