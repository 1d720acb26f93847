"""Server-side rendering of the console: the Jinja environment, its filters, and responses.

Templates autoescape everything, and a missing key renders as nothing: the
lessons and courses they show are JSON whose optional fields are left out.
The only markup passed through unescaped is the board SVG, which
``board_svg`` builds from numbers and escapes itself.
Every console response carries a strict Content-Security-Policy (scripts,
styles and images from this origin only: nothing is fetched from anywhere
else), is never cached, and may not be framed.
"""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

__all__ = [
    "NOT_BUILT",
    "SECURITY_HEADERS",
    "STATIC_DIR",
    "TEMPLATE_DIR",
    "NotBuilt",
    "environment",
    "html_response",
]

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class NotBuilt:
    """A read whose read model has no tables yet (its projector has not run)."""

    def __bool__(self) -> bool:
        return False


NOT_BUILT = NotBuilt()


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]


def duration(ms: float | None) -> str:
    """``850 ms``, ``12.4 s``, ``3 min 5 s``."""
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def money(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def number(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def pretty_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


_STRONG = re.compile(r"\*\*(.+?)\*\*")


class Html(str):
    """Markup this module made safe: autoescaping leaves objects with ``__html__`` alone."""

    def __html__(self) -> str:
        return str(self)


def emphasis(value: str) -> Html:
    """Text with its ``**bold**`` runs (the lesson phases write them) as ``<strong>``; the
    text itself escaped first."""
    return Html(_STRONG.sub(r"<strong>\1</strong>", html.escape(str(value), quote=True)))


def short(value: object, size: int = 8) -> str:
    text = str(value)
    return text if len(text) <= size else text[:size] + "…"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        clock=clock,
        duration=duration,
        money=money,
        number=number,
        score=score,
        pretty_json=pretty_json,
        short=short,
        emphasis=emphasis,
    )
    env.tests["not_built"] = lambda value: isinstance(value, NotBuilt)
    return env


def html_response(
    body: str, status: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
