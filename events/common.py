"""Value types shared by several contexts."""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from events.text import TextChecked

__all__ = ["GenerationUsage", "Identifier", "Model", "carries_usage", "usages_of"]

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]


class Model(TextChecked):
    """Base of nested value objects inside payloads (text checked: ``events.text``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class GenerationUsage(Model):
    """What producing a piece of content cost, recorded with the content."""

    family: str | None = Field(default=None, description="generator family, e.g. jit, drills")
    task: str | None = Field(default=None, description="the gateway task (one prompt file each)")
    strategy: str = Field(
        description="the strategy that made the content: rules (or the family's name for it, "
        "e.g. formula), llm, hybrid, or <rules>_fallback when an llm call failed"
    )
    fallback_from: str | None = Field(
        default=None, description="the strategy that failed when this is a fallback"
    )
    provider: str | None = Field(default=None, description="anthropic, gemini, or None for rules")
    model: str | None = None
    prompt_version: str | None = None
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cached_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)
    latency_ms: float = Field(default=0.0, ge=0)
    attempts: int = Field(default=1, ge=1)
    fallback_reason: str | None = None


def carries_usage(model: type[BaseModel]) -> bool:
    """Whether a payload type has a field holding ``GenerationUsage`` (or a list of them)."""

    def mentions(annotation: object) -> bool:
        if annotation is GenerationUsage:
            return True
        return any(mentions(arg) for arg in get_args(annotation))

    return any(mentions(f.annotation) for f in model.model_fields.values())


def usages_of(payload: BaseModel) -> list[GenerationUsage]:
    """Every usage record a payload carries, in field order."""
    found: list[GenerationUsage] = []
    for name in type(payload).model_fields:
        value = getattr(payload, name)
        if isinstance(value, GenerationUsage):
            found.append(value)
        elif isinstance(value, list | tuple):
            found.extend(v for v in value if isinstance(v, GenerationUsage))
    return found
