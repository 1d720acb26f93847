"""Local HTTP servers that speak the Anthropic Messages and Gemini generateContent wire
formats, so the real SDKs can be tested and benchmarked without the network."""

from tools.fakellm.server import FakeLLM, Scripted, data_of, system_of

__all__ = ["FakeLLM", "Scripted", "data_of", "system_of"]
