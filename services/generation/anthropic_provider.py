"""Claude through the ``anthropic`` SDK: JSON-schema output, cached system prompt.

The SDK retries 429, 5xx and 529/overloaded with backoff (``max_retries``) and
moves numeric bounds out of the schema into descriptions, so the gateway
validates every reply itself. The Messages API of SDK 2.x takes no sampling
parameters (temperature, seed), so those of the request are not sent.
"""

from __future__ import annotations

from typing import Any

import anthropic
import orjson
from anthropic.lib._parse._transform import transform_schema

from services.generation.contract import Completion, Reply
from services.generation.errors import (
    GenerationError,
    ProviderTimeout,
    ProviderUnavailable,
    call_failed,
)

__all__ = ["AnthropicProvider"]


_TRANSFORMED: dict[bytes, dict[str, Any]] = {}


def _api_schema(call: Completion) -> dict[str, Any]:
    """The schema as the API takes it (bounds moved into descriptions), once per schema."""
    key = orjson.dumps(call.json_schema, option=orjson.OPT_SORT_KEYS)
    if key not in _TRANSFORMED:
        _TRANSFORMED[key] = transform_schema(call.json_schema)
    return _TRANSFORMED[key]


class AnthropicProvider:
    name = "anthropic"

    def __init__(
        self, *, api_key: str, model: str, base_url: str | None = None, max_retries: int = 2
    ) -> None:
        self.model = model
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            http_client=anthropic.DefaultAioHttpClient(),
        )

    async def complete(self, call: Completion) -> Reply:
        kw: dict[str, Any] = {
            "model": self.model,
            "max_tokens": call.max_tokens,
            # The static instructions are the cacheable prefix of every call of a task.
            "system": [
                {"type": "text", "text": call.system, "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [{"role": t.role, "content": t.text} for t in call.turns],
            "output_config": {"format": {"type": "json_schema", "schema": _api_schema(call)}},
            "timeout": call.timeout_s,
        }
        try:
            message = await self._client.messages.create(**kw)
        except anthropic.APITimeoutError as exc:
            raise self._failed(
                ProviderTimeout, f"no answer within {call.timeout_s}s", call
            ) from exc
        except anthropic.APIStatusError as exc:
            raise self._failed(
                ProviderUnavailable, f"HTTP {exc.status_code}: {exc.message}", call
            ) from exc
        except anthropic.APIConnectionError as exc:
            raise self._failed(ProviderUnavailable, f"transport error: {exc}", call) from exc
        text = "".join(block.text for block in message.content if block.type == "text")
        u = message.usage
        cache_read = u.cache_read_input_tokens or 0
        prompt_tokens = u.input_tokens + cache_read + (u.cache_creation_input_tokens or 0)
        return Reply(
            text=text,
            input_tokens=prompt_tokens,
            output_tokens=u.output_tokens,
            cached_tokens=cache_read,
            model=message.model,
        )

    def _failed(self, kind: type[GenerationError], message: str, call: Completion) -> Exception:
        return call_failed(kind, message, task=call.task, provider=self.name, model=self.model)

    async def aclose(self) -> None:
        await self._client.close()
