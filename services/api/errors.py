"""One JSON error model for every error the API answers, and the handlers that produce it.

Every error, 5xx included, is ``{"error": <short code>, "detail": <text or field errors>}``:
clients parse one shape, and the OpenAPI document declares it on every operation
(``ERROR_RESPONSES``). An outage of the database or the broker is a 503 (retry
later), anything else unexpected a 500; neither ever answers ``text/plain``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ERROR_RESPONSES",
    "ERROR_RESPONSES_JSON",
    "ApiError",
    "CatchAll",
    "ErrorBody",
    "FieldError",
    "error_response",
    "install_error_handlers",
    "outage_of",
]

log = structlog.get_logger(__name__)


class FieldError(BaseModel):
    """One invalid field: where (``loc``, as pydantic names it), why, and the error type."""

    loc: list[str | int] = Field(description="path to the field, e.g. body, payload, learner_id")
    msg: str
    type: str
    index: int | None = Field(default=None, description="position of the event in a batch")


class ErrorBody(BaseModel):
    """Every error response."""

    error: str = Field(description="short machine-readable code, e.g. invalid_request")
    detail: str | list[FieldError] = Field(description="what went wrong, or the invalid fields")


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal",
    503: "unavailable",
}


def _declared(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Declared on every operation (the docs and the fuzzer hold the API to it).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _declared("missing or invalid bearer token"),
    404: _declared("no such resource"),
    422: _declared("invalid request; `detail` names each field"),
    500: _declared("unexpected server error"),
    503: _declared("the database or the broker is unavailable, or a read model is not built"),
}


# The same, for a route whose own responses are not JSON (``/metrics``): FastAPI
# would put a ``model`` under the route's media type.
ERROR_RESPONSES_JSON: dict[int | str, dict[str, Any]] = {
    status: {
        "description": r["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, r in ERROR_RESPONSES.items()
}


class ApiError(HTTPException):
    """An HTTP error with its own short code (the status's default otherwise)."""

    def __init__(self, status_code: int, code: str, detail: str | list[dict[str, Any]]) -> None:
        super().__init__(status_code, detail)
        self.code = code


def error_response(
    status: int,
    detail: object,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=code or _CODES.get(status, f"http_{status}"), detail=_detail(detail))
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True), status, dict(headers or {})
    )


def _detail(detail: object) -> str | list[FieldError]:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, Sequence) and all(isinstance(e, Mapping) for e in detail):
        return [_field_error(e) for e in detail]
    return str(detail)


def _field_error(e: Mapping[str, Any]) -> FieldError:
    loc = [p if isinstance(p, int | str) else str(p) for p in e.get("loc", ())]
    index = e.get("index")
    return FieldError(
        loc=loc,
        msg=str(e.get("msg", "")),
        type=str(e.get("type", "value_error")),
        index=index if isinstance(index, int) else None,
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def outage_of(exc: BaseException) -> str | None:
    """Which dependency is down when ``exc`` (or what caused it) says one is, else None."""
    from aiokafka.errors import KafkaError
    from asyncpg import CannotConnectNowError, PostgresConnectionError, TooManyConnectionsError
    from asyncpg.exceptions import InterfaceError as PgInterfaceError
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    database = (
        OperationalError,
        InterfaceError,
        DisconnectionError,
        PoolTimeout,
        PostgresConnectionError,
        CannotConnectNowError,
        TooManyConnectionsError,
        PgInterfaceError,
    )
    for e in _chain(exc):
        if isinstance(e, database):
            return "database"
        if isinstance(e, KafkaError):
            return "broker"
    for e in _chain(exc):
        if isinstance(e, OSError | TimeoutError):
            return "a backing service"
    return None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8, not JSON): an
        # invalid request like any other, named as a field error.
        detail = [{"loc": ["body"], "msg": str(exc.detail), "type": "body_invalid"}]
        return error_response(422, detail)
    return error_response(
        exc.status_code, exc.detail, code=getattr(exc, "code", None), headers=exc.headers
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, list(exc.errors()))


def _unexpected_response(method: str, path: str, exc: BaseException) -> JSONResponse:
    down = outage_of(exc)
    if down is not None:
        log.warning("api.unavailable", path=path, method=method, dependency=down, error=repr(exc))
        return error_response(
            503, f"{down} unavailable: {type(exc).__name__}", headers={"Retry-After": "5"}
        )
    log.error("api.internal_error", path=path, method=method, exc_info=exc)
    return error_response(500, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Every error as ``ErrorBody``: HTTP errors, invalid requests, outages, the unexpected."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Not an ``Exception`` handler: Starlette runs those in its outermost middleware,
    # which answers and then re-raises to the server.
    app.add_middleware(CatchAll)


class CatchAll:
    """ASGI middleware: whatever escapes the app's handlers becomes a JSON 503 (an outage)
    or 500, logged here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:  # too late for another status: the client sees a cut response
                log.error("api.error_after_response_started", path=scope["path"], exc_info=exc)
                return
            response = _unexpected_response(scope["method"], scope["path"], exc)
            await response(scope, receive, send)
