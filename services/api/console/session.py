"""Console sessions and CSRF tokens: HMAC-signed, stateless, pure.

Signing in with the API token gives a session cookie: a random session id with
its issue and expiry times, as base64url JSON, a dot, and an HMAC-SHA256 tag.
Nothing in it is secret: the key is derived from the API token (so changing
the token signs every session out) and never leaves the server. A form's CSRF
token is the HMAC of the session id under the same key, so it belongs to one
session and cannot be forged without the key. The sign-in form itself is
protected the same way by a short-lived ``signin`` pre-session.

``Revocations`` remembers signed-out session ids until they would have expired
anyway, so a copied cookie stops working at sign-out (in this process).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Literal

import orjson

from events.errors import NlsError

__all__ = [
    "SESSION_TTL_S",
    "SIGNIN_TTL_S",
    "CsrfError",
    "Kind",
    "Revocations",
    "Session",
    "SessionError",
    "SessionSigner",
]

SESSION_TTL_S = 12 * 3600
SIGNIN_TTL_S = 15 * 60
_CONTEXT = b"nls.console.session.v1"
Kind = Literal["console", "signin"]


class SessionError(NlsError):
    """A session cookie that does not hold a valid session; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"no valid console session: {reason}")
        self.reason = reason


class CsrfError(NlsError):
    """A form whose CSRF token is missing or does not belong to the session."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the form was refused: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    kind: Kind
    issued_at: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class SessionSigner:
    """Issues and checks sessions and CSRF tokens under a key derived from the API token."""

    def __init__(self, api_token: str, *, ttl_s: int = SESSION_TTL_S) -> None:
        if not api_token:
            raise ValueError("the console needs the API token to sign sessions")
        self._key = hmac.new(api_token.encode(), _CONTEXT, hashlib.sha256).digest()
        self._token_digest = hashlib.sha256(api_token.encode()).digest()
        self.ttl_s = ttl_s

    def _tag(self, message: bytes) -> bytes:
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def token_matches(self, given: str) -> bool:
        """Whether ``given`` is the API token (compared in constant time)."""
        return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), self._token_digest)

    def issue(self, now: float, kind: Kind = "console", *, sid: str | None = None) -> Session:
        ttl = self.ttl_s if kind == "console" else SIGNIN_TTL_S
        return Session(
            sid=sid or secrets.token_urlsafe(18),
            kind=kind,
            issued_at=int(now),
            expires_at=int(now) + ttl,
        )

    def cookie(self, session: Session) -> str:
        body = _b64(
            orjson.dumps(
                {
                    "s": session.sid,
                    "k": session.kind,
                    "i": session.issued_at,
                    "e": session.expires_at,
                }
            )
        )
        return f"{body}.{_b64(self._tag(body.encode()))}"

    def verify(self, value: str | None, now: float, kind: Kind = "console") -> Session:
        """The session a cookie holds; ``SessionError`` when it is absent, forged, of
        another kind, or expired."""
        if not value:
            raise SessionError("no session cookie")
        body, sep, tag = value.partition(".")
        if not sep or not body or not tag:
            raise SessionError("malformed cookie")
        try:
            given = _unb64(tag)
        except (binascii.Error, ValueError):
            raise SessionError("malformed signature") from None
        if not hmac.compare_digest(given, self._tag(body.encode())):
            raise SessionError("bad signature")
        try:
            data = orjson.loads(_unb64(body))
            session = Session(
                sid=str(data["s"]),
                kind=data["k"],
                issued_at=int(data["i"]),
                expires_at=int(data["e"]),
            )
        except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            raise SessionError("malformed session") from None
        if session.kind != kind:
            raise SessionError(f"a {session.kind} session, not a {kind} one")
        if now >= session.expires_at:
            raise SessionError("expired")
        return session

    def csrf_token(self, session: Session) -> str:
        return _b64(self._tag(f"csrf:{session.kind}:{session.sid}".encode()))

    def check_csrf(self, session: Session, given: str | None) -> None:
        """``CsrfError`` unless ``given`` is this session's CSRF token."""
        if not given:
            raise CsrfError("no CSRF token in the form")
        if not hmac.compare_digest(given.encode(), self.csrf_token(session).encode()):
            raise CsrfError("the CSRF token does not belong to this session")


@dataclass
class Revocations:
    """Signed-out session ids, kept until their sessions would have expired."""

    _until: dict[str, int] = field(default_factory=dict)

    def revoke(self, session: Session, now: float) -> None:
        self.prune(now)
        self._until[session.sid] = session.expires_at

    def revoked(self, session: Session) -> bool:
        return session.sid in self._until

    def prune(self, now: float) -> None:
        for sid in [s for s, until in self._until.items() if until <= now]:
            del self._until[sid]

    def __len__(self) -> int:
        return len(self._until)
