"""Typed settings of the training JIT agent."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["TrainingSettings"]


class TrainingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NLS_", extra="ignore")

    training_jit_strategy: Literal["formula", "llm", "hybrid", "auto"] = "auto"
