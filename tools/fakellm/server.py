"""A scripted fake of a model API, served by uvicorn on a thread.

Each test queues what the "model" does next (``say`` a text, ``fail`` with a
status, optionally after a delay); with the queue empty, ``responder`` (if
set) answers from the request. Every request body is kept for assertions.
The wire format follows the public API docs: Anthropic ``POST /v1/messages``
and Gemini ``POST /v1beta/models/{model}:generateContent``.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["FakeLLM", "Scripted", "data_of", "system_of"]

Flavour = Literal["anthropic", "gemini"]
Responder = Callable[[dict[str, Any]], str]

_DATA = re.compile(r"<data>\n(?P<body>.*)\n</data>", re.DOTALL)
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass(frozen=True)
class Scripted:
    text: str | None = None  # what the model says; None with a status >= 400
    status: int = 200
    delay_s: float = 0.0
    cached_tokens: int | None = None


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def data_of(body: dict[str, Any], turn: int = 0) -> Any:
    """The JSON inside the ``<data>`` block of a request's ``turn``-th user turn."""
    texts = _user_texts(body)
    match = _DATA.search(texts[turn])
    if match is None:
        raise ValueError("no <data> block in that turn")
    return orjson.loads(match["body"])


def _user_texts(body: dict[str, Any]) -> list[str]:
    if "messages" in body:
        out = []
        for m in body["messages"]:
            if m["role"] != "user":
                continue
            content = m["content"]
            out.append(
                content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
            )
        return out
    return [
        "".join(p.get("text", "") for p in c.get("parts", []))
        for c in body.get("contents", [])
        if c.get("role", "user") == "user"
    ]


def system_of(body: dict[str, Any]) -> str:
    if "system" in body:
        system = body["system"]
        return system if isinstance(system, str) else "".join(b["text"] for b in system)
    parts = body.get("systemInstruction", body.get("system_instruction", {})).get("parts", [])
    return "".join(p.get("text", "") for p in parts)


@dataclass
class FakeLLM:
    flavour: Flavour
    model: str = "fake-model"
    responder: Responder | None = None
    # every reply leaves this long after its request arrived, as a model's does: the
    # server's own work (parsing, the simulated model) is inside it, not added to it
    latency_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    _script: deque[Scripted] = field(default_factory=deque)
    _seen_systems: set[str] = field(default_factory=set)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _port: int = 0

    # scripting --------------------------------------------------------------
    def say(self, text: str | dict[str, Any], *, delay_s: float = 0.0) -> FakeLLM:
        body = text if isinstance(text, str) else orjson.dumps(text).decode()
        self._script.append(Scripted(body, delay_s=delay_s))
        return self

    def fail(self, status: int, *, delay_s: float = 0.0) -> FakeLLM:
        self._script.append(Scripted(None, status=status, delay_s=delay_s))
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # lifecycle --------------------------------------------------------------
    def __enter__(self) -> FakeLLM:
        # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets
        # whose proto says TCP. With Nagle on, the response's body waits for the
        # client's delayed ACK of its headers: 40 ms added to every call.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # the API ----------------------------------------------------------------
    def _app(self) -> Starlette:
        if self.flavour == "anthropic":
            routes = [Route("/v1/messages", self._anthropic, methods=["POST"])]
        else:
            routes = [Route("/{version}/models/{call:path}", self._gemini, methods=["POST"])]
        return Starlette(routes=routes)

    async def _next(self, body: dict[str, Any], arrived: float) -> Scripted:
        self.requests.append(body)
        if self._script:
            step = self._script.popleft()
        elif self.responder is not None:
            step = Scripted(self.responder(body))
        else:
            step = Scripted(None, status=500)
        if step.delay_s or self.latency_s:
            spent = time.monotonic() - arrived
            await asyncio.sleep(max(0.0, step.delay_s + self.latency_s - spent))
        return step

    async def _anthropic(self, request: Request) -> Response:
        arrived = time.monotonic()
        body = orjson.loads(await request.body())
        step = await self._next(body, arrived)
        if step.status >= 400:
            kind = _ANTHROPIC_ERRORS.get(step.status, "api_error")
            return _json(
                {"type": "error", "error": {"type": kind, "message": f"scripted {kind}"}},
                step.status,
                {"retry-after-ms": "20", "x-should-retry": "true"},
            )
        text = step.text or ""
        system = system_of(body)
        cached = system in self._seen_systems
        self._seen_systems.add(system)
        prompt = _tokens(orjson.dumps(body.get("messages", [])).decode())
        return _json(
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", self.model),
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": prompt,
                    "output_tokens": _tokens(text),
                    "cache_read_input_tokens": _tokens(system) if cached else 0,
                    "cache_creation_input_tokens": 0 if cached else _tokens(system),
                },
            }
        )

    async def _gemini(self, request: Request) -> Response:
        call = request.path_params["call"]
        model, _, method = call.partition(":")
        if method != "generateContent":
            return _json({"error": {"code": 404, "message": f"no method {method}"}}, 404)
        arrived = time.monotonic()
        body = orjson.loads(await request.body())
        step = await self._next(body, arrived)
        if step.status >= 400:
            status = _GEMINI_STATUS.get(step.status, "INTERNAL")
            return _json(
                {"error": {"code": step.status, "message": f"scripted {status}", "status": status}},
                step.status,
            )
        text = step.text or ""
        prompt = _tokens(system_of(body)) + _tokens(orjson.dumps(body.get("contents")).decode())
        return _json(
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": prompt,
                    "candidatesTokenCount": _tokens(text),
                    "totalTokenCount": prompt + _tokens(text),
                    "cachedContentTokenCount": step.cached_tokens or 0,
                },
                "modelVersion": model,
            }
        )


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")
