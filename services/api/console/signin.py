"""Signing in and out of the console, and its static assets.

Sign-in takes the API token in a POSTed form (never a URL) and answers with a
session cookie: HttpOnly (scripts cannot read it), SameSite=Strict (no other
site's page can send it), Secure over HTTPS, scoped to ``/console``. The form
itself carries the CSRF token of a short ``signin`` pre-session, so another
site cannot sign a browser in either. A wrong token is refused with 401 and
the form again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from services.api.console.core import ConsoleProblem, console_of, form_of, posted, render
from services.api.console.gate import (
    CONSOLE_PREFIX,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    SIGNIN_PATH,
    cookie_value,
    safe_next,
)
from services.api.console.render import SECURITY_HEADERS, STATIC_DIR
from services.api.console.session import CsrfError, SessionError

__all__ = ["public", "signed_in"]

public = APIRouter(include_in_schema=False)
signed_in = APIRouter(include_in_schema=False)

_STATIC = {"console.css": "text/css", "console.js": "text/javascript"}


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=CONSOLE_PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _signin_form(request: Request, *, status: int, error: str | None, target: str) -> Response:
    gate = console_of(request).gate
    pre = gate.signer.issue(gate.clock(), "signin")
    response = render(
        request,
        "signin.html",
        status=status,
        error=error,
        next_path=target,
        signin_csrf=gate.signer.csrf_token(pre),
        signed_out=request.query_params.get("signed_out") == "1",
    )
    _set_cookie(request, response, SIGNIN_COOKIE, gate.signer.cookie(pre), 15 * 60)
    return response


@public.get(SIGNIN_PATH)
async def signin_page(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if console_of(request).gate.session_of(request.scope) is not None:
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    return _signin_form(request, status=200, error=None, target=target)


@public.post(SIGNIN_PATH)
async def signin(request: Request) -> Response:
    gate = console_of(request).gate
    form = await form_of(request)
    target = safe_next(form.get("next"))
    try:
        pre = gate.signer.verify(cookie_value(request.scope, SIGNIN_COOKIE), gate.clock(), "signin")
        gate.signer.check_csrf(pre, form.get("csrf") or None)
    except (SessionError, CsrfError) as exc:
        reason = exc.reason
        return _signin_form(
            request,
            status=403,
            error=f"The sign-in form was refused ({reason}): please sign in again.",
            target=target,
        )
    if not gate.signer.token_matches(form.get("token")):
        return _signin_form(request, status=401, error="That is not the API token.", target=target)
    session = gate.signer.issue(gate.clock())
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    _set_cookie(request, response, SESSION_COOKIE, gate.signer.cookie(session), gate.signer.ttl_s)
    response.delete_cookie(SIGNIN_COOKIE, path=CONSOLE_PREFIX)
    return response


@signed_in.post(CONSOLE_PREFIX + "/sign-out")
async def signout(request: Request) -> Response:
    gate = console_of(request).gate
    session, _ = await posted(request)
    gate.revocations.revoke(session, gate.clock())
    response = RedirectResponse(
        f"{SIGNIN_PATH}?signed_out=1", status_code=303, headers=SECURITY_HEADERS
    )
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PREFIX)
    return response


@signed_in.get(CONSOLE_PREFIX)
async def index(request: Request) -> Response:
    return RedirectResponse(CONSOLE_PREFIX + "/generate", status_code=303, headers=SECURITY_HEADERS)


@public.get(CONSOLE_PREFIX + "/static/{name}")
async def static(name: str) -> Any:
    media = _STATIC.get(name)
    if media is None:
        raise ConsoleProblem(404, "Not found", f"No console asset {name!r}.")
    return FileResponse(
        STATIC_DIR / name,
        media_type=media,
        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"},
    )
