"""The gateway's wiring point: providers from settings, wrapped in fault injection if asked.

The SDKs are imported only when a provider is configured: anthropic and
google-genai take about 1.2 s to import, which every ``nls`` command and
worker would otherwise pay.
"""

from __future__ import annotations

from services.generation.contract import Provider
from services.generation.faults import FaultSpec, FaultyProvider
from services.generation.gateway import Gateway
from services.generation.settings import GenerationSettings

__all__ = ["build_gateway", "build_providers"]


def build_providers(settings: GenerationSettings) -> list[Provider]:
    providers: list[Provider] = []
    if settings.anthropic_api_key:
        from services.generation.anthropic_provider import AnthropicProvider

        providers.append(
            AnthropicProvider(
                api_key=settings.anthropic_api_key.get_secret_value(),
                model=settings.anthropic_model,
                base_url=settings.anthropic_base_url,
                max_retries=settings.max_retries,
            )
        )
    if settings.gemini_api_key:
        from services.generation.gemini_provider import GeminiProvider

        providers.append(
            GeminiProvider(
                api_key=settings.gemini_api_key.get_secret_value(),
                model=settings.gemini_model,
                base_url=settings.gemini_base_url,
                max_retries=settings.max_retries,
            )
        )
    if settings.faults:
        spec = FaultSpec.parse(settings.faults)
        providers = [FaultyProvider(p, spec) for p in providers]
    return providers


def build_gateway(settings: GenerationSettings | None = None) -> Gateway:
    settings = settings or GenerationSettings()
    return Gateway(
        build_providers(settings),
        preferred=settings.provider,
        timeout_s=settings.timeout_s,
        reasks=settings.reasks,
        concurrency=settings.concurrency,
        max_tokens=settings.max_tokens,
    )
