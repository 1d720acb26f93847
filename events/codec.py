"""orjson codec and Kafka headers.

The value is the whole envelope as JSON. Headers repeat ``event_type`` and
``event_version`` so Redpanda Console can filter without decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from events.catalog import CATALOG, Catalog
from events.envelope import Envelope
from events.errors import UndecodableEvent

__all__ = ["CONTENT_TYPE", "EncodedEvent", "Headers", "decode", "encode", "header"]

CONTENT_TYPE = b"application/json"
Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def encode(envelope: Envelope) -> EncodedEvent:
    value = orjson.dumps(envelope.model_dump(mode="python"))
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
            return catalog.validate_json(spec, value)
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from None
    return catalog.validate(raw)


def header(headers: Headers | None, name: str) -> str | None:
    for key, val in headers or ():
        if key == name:
            return val.decode(errors="replace")
    return None
