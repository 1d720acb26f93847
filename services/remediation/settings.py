"""Typed settings of the JIT remediation flow (environment, prefix ``NLS_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["JitSettings"]


class JitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NLS_", extra="ignore")

    # The seed's two switches: the learning engine's and the remediation router's.
    # JIT generation happens only when both are on.
    engine_enable_jit: bool = Field(default=True, description="LearningEngine(enable_jit=...)")
    router_enable_jit: bool = Field(default=True, description="RemediationRouter(enable_jit=...)")
    jit_strategy: Literal["rules", "llm", "auto"] = "auto"
    jit_concurrency: int = Field(
        default=4, ge=1, le=64, description="generations in flight per remediation or jit worker"
    )

    @property
    def enable_jit(self) -> bool:
        return self.engine_enable_jit and self.router_enable_jit
