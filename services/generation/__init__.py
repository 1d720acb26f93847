"""The generation gateway: every generator family calls models through it.

``build_gateway()`` wires providers from the environment; ``generate(family,
input, strategy=..., gateway=...)`` runs a family's strategy with fallback to
its rules; ``Gateway.generate(GenerationRequest(...))`` is the single model call.
"""

from services.generation.bootstrap import build_gateway
from services.generation.contract import Completion, Generated, GenerationRequest, Provider, Reply
from services.generation.errors import (
    GenerationError,
    InvalidOutput,
    NoProviderConfigured,
    ProviderTimeout,
    ProviderUnavailable,
)
from services.generation.gateway import Gateway
from services.generation.settings import GenerationSettings
from services.generation.strategies import FAMILIES, Family, generate, register, resolve

__all__ = [
    "FAMILIES",
    "Completion",
    "Family",
    "Gateway",
    "Generated",
    "GenerationError",
    "GenerationRequest",
    "GenerationSettings",
    "InvalidOutput",
    "NoProviderConfigured",
    "Provider",
    "ProviderTimeout",
    "ProviderUnavailable",
    "Reply",
    "build_gateway",
    "generate",
    "register",
    "resolve",
]
