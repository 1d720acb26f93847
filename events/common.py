"""Value types shared by several contexts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["GenerationUsage", "Identifier", "Model"]

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]


class Model(BaseModel):
    """Base of nested value objects inside payloads."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class GenerationUsage(Model):
    """What producing a piece of content cost, recorded with the content."""

    strategy: str = Field(description="rules, llm, hybrid, or <strategy>_fallback")
    provider: str | None = Field(default=None, description="anthropic, google, or None for rules")
    model: str | None = None
    prompt_version: str | None = None
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cached_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)
    latency_ms: float = Field(default=0.0, ge=0)
    attempts: int = Field(default=1, ge=1)
    fallback_reason: str | None = None
