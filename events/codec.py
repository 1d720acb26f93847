"""orjson codec and Kafka headers.

The value is the whole envelope as JSON. Headers repeat ``event_type`` and
``event_version`` so Redpanda Console can filter without decoding.

JSON text may spell a lone surrogate (``"\\ud800"``), which is not Unicode:
orjson and pydantic's parser refuse the whole document. ``loads`` lets such
text through, so the catalog refuses it the way it refuses NUL, naming the
field (``events.text``); every reader, and the HTTP API, give the same reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from events.catalog import CATALOG, Catalog
from events.envelope import Envelope
from events.errors import UndecodableEvent
from events.text import find_text_problems

__all__ = ["CONTENT_TYPE", "EncodedEvent", "Headers", "decode", "encode", "header", "loads"]

CONTENT_TYPE = b"application/json"
Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def encode(envelope: Envelope) -> EncodedEvent:
    # Enum-keyed dicts (a lesson report's categories) serialise by their value.
    value = orjson.dumps(envelope.model_dump(mode="python"), option=orjson.OPT_NON_STR_KEYS)
    return EncodedEvent(
        key=envelope.key.encode(),
        value=value,
        headers=[
            ("event_type", envelope.event_type.encode()),
            ("event_version", str(envelope.event_version).encode()),
            ("content-type", CONTENT_TYPE),
        ],
    )


def decode(
    value: bytes | None, catalog: Catalog = CATALOG, headers: Headers | None = None
) -> Envelope:
    """Bytes from the log to a validated, upcast envelope.

    With the Kafka headers naming a known type at its current version, the bytes
    are parsed and validated in one pass; anything else takes the general path.
    Raises ``UndecodableEvent``, ``UnknownEventType`` or ``InvalidEvent``.
    """
    if value is None:
        raise UndecodableEvent("empty message (tombstone)")
    etype = header(headers, "event_type") if headers else None
    if etype is not None and etype in catalog:
        spec = catalog.spec(etype)
        if header(headers, "event_version") == str(spec.version):
            try:
                return catalog.validate_json(spec, value)
            except UndecodableEvent:
                pass  # the general path says why, in the same words whatever the headers
    return catalog.validate(loads(value))


def loads(value: bytes) -> object:
    """JSON text to a Python value; ``UndecodableEvent`` when it is not JSON.

    A document orjson refuses only for its lone surrogate escapes is parsed
    anyway, so that validation names the field holding them instead of calling
    the whole message undecodable.
    """
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        lenient = _lenient_loads(value)
        if lenient is not _NOT_JSON and find_text_problems(lenient):
            return lenient
        raise UndecodableEvent(f"not JSON: {exc}") from None


_NOT_JSON = object()


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if math.isinf(value):  # orjson refuses what overflows a double; so must its stand-in
        raise ValueError(f"{number} is infinity as a double")
    return value


def _lenient_loads(value: bytes) -> object:
    """The stdlib parser, which keeps lone surrogate escapes; otherwise as strict as
    orjson: UTF-8 only, no NaN or infinity."""
    try:
        return json.loads(
            value.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _NOT_JSON


def header(headers: Headers | None, name: str) -> str | None:
    for key, val in headers or ():
        if key == name:
            return val.decode(errors="replace")
    return None
