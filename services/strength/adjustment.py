"""The seed's JITAdjustment, with exactly its bounds (the API does not enforce them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

__all__ = ["NEUTRAL", "JITAdjustment"]


class JITAdjustment(BaseModel):
    intensity_modifier: float = Field(ge=0.40, le=1.20, alias="intensityModifier")
    set_modifier: int = Field(ge=-3, le=2, alias="setModifier")
    skip_main_lift: bool = Field(alias="skipMainLift")
    aux_overrides: dict[str, Literal["skip", "reduce", "normal"]] = Field(
        default_factory=dict, alias="auxOverrides"
    )
    rationale: list[Annotated[str, Field(max_length=200)]] = Field(max_length=5)
    confidence: Literal["high", "medium", "low"]

    model_config = {"populate_by_name": True, "extra": "forbid"}


NEUTRAL = JITAdjustment(
    intensity_modifier=1.0, set_modifier=0, skip_main_lift=False, rationale=[], confidence="high"
)
