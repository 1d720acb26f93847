"""Typed settings of the generation gateway: providers, keys, limits, fault injection."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["GenerationSettings", "ProviderName"]

ProviderName = Literal["anthropic", "gemini"]


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class GenerationSettings(BaseSettings):
    """Keys come from the environment only; a provider without a key is not configured."""

    model_config = SettingsConfigDict(env_prefix="NLS_LLM_", extra="ignore", populate_by_name=True)

    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("ANTHROPIC_API_KEY")
    )
    anthropic_model: str = Field(
        default="claude-sonnet-4-5", validation_alias=_env("ANTHROPIC_MODEL")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=_env("ANTHROPIC_BASE_URL", "NLS_LLM_ANTHROPIC_BASE_URL")
    )
    gemini_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("GEMINI_API_KEY", "GOOGLE_API_KEY")
    )
    gemini_model: str = Field(default="gemini-2.5-flash", validation_alias=_env("GEMINI_MODEL"))
    gemini_base_url: str | None = Field(
        default=None, validation_alias=_env("GOOGLE_GEMINI_BASE_URL", "NLS_LLM_GEMINI_BASE_URL")
    )

    provider: ProviderName | None = Field(
        default=None,
        description="which configured provider the llm strategy uses; default: anthropic first",
    )
    timeout_s: float = Field(default=30.0, gt=0, description="per model call, retries included")
    max_retries: int = Field(
        default=2, ge=0, le=10, description="SDK retries on 429, 5xx and overloaded"
    )
    reasks: int = Field(
        default=1, ge=0, le=3, description="re-asks carrying the validation error of a bad reply"
    )
    concurrency: int = Field(default=4, ge=1, le=256, description="calls in flight per provider")
    max_tokens: int = Field(default=2048, ge=16, le=64000)
    faults: str | None = Field(
        default=None,
        description="fault injection, e.g. timeout=0.2,malformed=0.1,latency_ms=800,seed=7",
    )
