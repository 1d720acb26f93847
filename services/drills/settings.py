"""Typed settings of the drill series agents."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.settings import default_packs_dir

__all__ = ["DrillSettings"]


class DrillSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NLS_", extra="ignore")

    enable_batch_drill_generation: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "ENABLE_BATCH_DRILL_GENERATION", "NLS_ENABLE_BATCH_DRILL_GENERATION"
        ),
        description="false: one single call for the whole series (the seed's baseline)",
    )
    drill_strategy: Literal["rules", "llm", "auto"] = "auto"
    drill_batch_concurrency: int = Field(default=5, ge=1, le=64, description="batches at once")
    drill_principles_pack: Path | None = Field(
        default_factory=lambda: default_packs_dir() / "backgammon" / "principles.yaml",
        description="the principles pack (YAML); default: backgammon/ under NLS_PACKS_DIR",
    )
