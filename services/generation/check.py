"""``nls llm check``: which providers are configured, whether each answers a structured
request, and what the ``auto`` strategy resolves to."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from services.generation.bootstrap import build_gateway
from services.generation.contract import GenerationRequest
from services.generation.errors import GenerationError
from services.generation.settings import GenerationSettings

__all__ = ["CheckReply", "ProviderStatus", "check_providers"]


class CheckReply(BaseModel):
    status: Literal["ok"]
    echo: int = Field(ge=0, description="the nonce of the data block")


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    configured: bool
    model: str
    base_url: str
    answered: bool | None = None  # None: not configured, so not asked
    latency_ms: float | None = None
    detail: str = ""


async def check_providers(
    settings: GenerationSettings, *, timeout_s: float = 15.0
) -> tuple[list[ProviderStatus], str]:
    """Ask every configured provider once; returns the statuses and what ``auto`` means."""
    gateway = build_gateway(settings)
    statuses: list[ProviderStatus] = []
    defaults = {
        "anthropic": (settings.anthropic_model, settings.anthropic_base_url, "api.anthropic.com"),
        "gemini": (
            settings.gemini_model,
            settings.gemini_base_url,
            "generativelanguage.googleapis.com",
        ),
    }
    async with gateway:
        for name, (model, base_url, default_url) in defaults.items():
            where = base_url or default_url
            if name not in gateway.providers:
                statuses.append(ProviderStatus(name, False, model, where, detail="no API key"))
                continue
            nonce = secrets.randbelow(1_000_000)
            request = GenerationRequest(
                task="llm-check",
                family="ops",
                content={"nonce": nonce},
                output=CheckReply,
                timeout_s=timeout_s,
                max_tokens=64,
            )
            try:
                made = await gateway.generate(request, provider=name)
            except GenerationError as exc:
                statuses.append(
                    ProviderStatus(name, True, model, where, False, exc.spent.latency_ms, str(exc))
                )
                continue
            ok = made.value.echo == nonce
            statuses.append(
                ProviderStatus(
                    name,
                    True,
                    made.usage.model or model,
                    where,
                    ok,
                    made.usage.latency_ms,
                    f"{made.usage.input_tokens} in / {made.usage.output_tokens} out tokens"
                    if ok
                    else f"echoed {made.value.echo}, expected {nonce}",
                )
            )
        auto = f"llm ({gateway.preferred})" if gateway.configured else "rules (no provider)"
    return statuses, auto
