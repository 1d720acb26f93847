"""Gemini through ``google-genai``: JSON mime type with ``response_json_schema``.

``response_schema`` would fail client-side for any dict field, and ``.parsed``
turns silently into None on a validation error, so the gateway re-validates
``.text`` itself. The SDK's timeout is in milliseconds and it retries nothing
unless ``retry_options`` says so.
"""

from __future__ import annotations

import aiohttp
import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from services.generation.contract import Completion, Reply
from services.generation.errors import (
    GenerationError,
    ProviderTimeout,
    ProviderUnavailable,
    call_failed,
)

__all__ = ["GeminiProvider"]

_RETRY_STATUSES = [408, 429, 500, 502, 503, 504]


class GeminiProvider:
    name = "gemini"

    def __init__(
        self, *, api_key: str, model: str, base_url: str | None = None, max_retries: int = 2
    ) -> None:
        self.model = model
        self._client = genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url,
                retry_options=types.HttpRetryOptions(
                    attempts=max_retries + 1,
                    initial_delay=0.5,
                    max_delay=8.0,
                    http_status_codes=_RETRY_STATUSES,
                ),
            ),
        )

    async def complete(self, call: Completion) -> Reply:
        config = types.GenerateContentConfig(
            system_instruction=call.system,
            response_mime_type="application/json",
            response_json_schema=call.json_schema,
            temperature=call.temperature,
            seed=call.seed,
            max_output_tokens=call.max_tokens,
            http_options=types.HttpOptions(timeout=int(call.timeout_s * 1000)),
        )
        contents = [
            types.Content(
                role="model" if t.role == "assistant" else "user", parts=[types.Part(text=t.text)]
            )
            for t in call.turns
        ]
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise self._failed(
                ProviderTimeout, f"no answer within {call.timeout_s}s", call
            ) from exc
        except genai_errors.APIError as exc:
            raise self._failed(
                ProviderUnavailable, f"HTTP {exc.code}: {exc.message}", call
            ) from exc
        except (aiohttp.ClientError, httpx.TransportError, OSError) as exc:
            raise self._failed(ProviderUnavailable, f"transport error: {exc!r}", call) from exc
        usage = response.usage_metadata
        return Reply(
            text=response.text or "",
            input_tokens=(usage.prompt_token_count or 0) if usage else 0,
            output_tokens=(usage.candidates_token_count or 0) if usage else 0,
            cached_tokens=(usage.cached_content_token_count or 0) if usage else 0,
            model=response.model_version or self.model,
        )

    def _failed(self, kind: type[GenerationError], message: str, call: Completion) -> Exception:
        return call_failed(kind, message, task=call.task, provider=self.name, model=self.model)

    async def aclose(self) -> None:
        await self._client.aio.aclose()
