"""Console sessions and CSRF tokens: signed, bound to the API token, expiring, revocable."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api.console.session import (
    SESSION_TTL_S,
    SIGNIN_TTL_S,
    CsrfError,
    Revocations,
    SessionError,
    SessionSigner,
)

pytestmark = pytest.mark.unit

TOKEN = "s3cret-api-token"
NOW = 1_800_000_000.0


def reason(signer: SessionSigner, cookie: str | None, **kw: object) -> str:
    with pytest.raises(SessionError) as caught:
        signer.verify(cookie, kw.pop("now", NOW), **kw)  # type: ignore[arg-type]
    return caught.value.reason


def test_a_session_round_trips_through_its_cookie() -> None:
    signer = SessionSigner(TOKEN)
    session = signer.issue(NOW)
    cookie = signer.cookie(session)
    assert signer.verify(cookie, NOW + 60) == session
    assert session.kind == "console" and session.expires_at - session.issued_at == SESSION_TTL_S
    assert signer.issue(NOW).sid != session.sid  # random ids


def test_the_cookie_holds_nothing_secret() -> None:
    signer = SessionSigner(TOKEN)
    cookie = signer.cookie(signer.issue(NOW))
    body = cookie.split(".")[0]
    decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert TOKEN not in cookie and TOKEN.encode() not in decoded
    assert set(decoded.decode()) <= set('{}":,0123456789abcdefghijklmnopqrstuvwxyz'
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_")  # fmt: skip


def test_a_tampered_or_foreign_cookie_is_refused() -> None:
    signer = SessionSigner(TOKEN)
    cookie = signer.cookie(signer.issue(NOW))
    body, tag = cookie.split(".")
    longer = signer.cookie(signer.issue(NOW, sid="x")).split(".")[0]
    assert reason(signer, f"{longer}.{tag}") == "bad signature"
    assert reason(signer, f"{body}.{tag[:-2]}AA") == "bad signature"
    assert reason(SessionSigner("another-token"), cookie) == "bad signature"
    assert reason(signer, None) == "no session cookie"
    assert reason(signer, "") == "no session cookie"
    assert reason(signer, body) == "malformed cookie"
    assert reason(signer, f"{body}.!!") == "malformed signature"


def test_sessions_expire() -> None:
    signer = SessionSigner(TOKEN, ttl_s=600)
    cookie = signer.cookie(signer.issue(NOW))
    assert signer.verify(cookie, NOW + 599).sid
    assert reason(signer, cookie, now=NOW + 600) == "expired"


def test_a_sign_in_session_is_not_a_console_session() -> None:
    signer = SessionSigner(TOKEN)
    signin = signer.issue(NOW, "signin")
    assert signin.expires_at - signin.issued_at == SIGNIN_TTL_S
    cookie = signer.cookie(signin)
    assert signer.verify(cookie, NOW, "signin") == signin
    assert reason(signer, cookie) == "a signin session, not a console one"


def test_csrf_tokens_belong_to_one_session() -> None:
    signer = SessionSigner(TOKEN)
    mine, other = signer.issue(NOW), signer.issue(NOW)
    token = signer.csrf_token(mine)
    signer.check_csrf(mine, token)
    assert token == signer.csrf_token(mine)  # stable for the session's life
    for given_token, why in [
        (None, "no CSRF token in the form"),
        ("", "no CSRF token in the form"),
        (signer.csrf_token(other), "does not belong to this session"),
        (SessionSigner("another-token").csrf_token(mine), "does not belong to this session"),
        (signer.csrf_token(signer.issue(NOW, "signin", sid=mine.sid)), "does not belong"),
    ]:
        with pytest.raises(CsrfError, match=why):
            signer.check_csrf(mine, given_token)


def test_the_api_token_is_checked_in_constant_time_form() -> None:
    signer = SessionSigner(TOKEN)
    assert signer.token_matches(TOKEN)
    assert not signer.token_matches(TOKEN + " ")
    assert not signer.token_matches("")
    with pytest.raises(ValueError, match="needs the API token"):
        SessionSigner("")


def test_signed_out_sessions_are_revoked_until_they_expire() -> None:
    signer = SessionSigner(TOKEN, ttl_s=100)
    session, other = signer.issue(NOW), signer.issue(NOW)
    revoked = Revocations()
    revoked.revoke(session, NOW)
    assert revoked.revoked(session) and not revoked.revoked(other)
    revoked.prune(NOW + 99)
    assert len(revoked) == 1
    revoked.prune(NOW + 100)  # expired anyway: forgotten
    assert len(revoked) == 0


@given(st.text(max_size=300))
def test_any_cookie_is_a_session_or_a_session_error(cookie: str) -> None:
    signer = SessionSigner(TOKEN)
    try:
        signer.verify(cookie, NOW)
    except SessionError:
        return
    raise AssertionError(f"{cookie!r} verified")
