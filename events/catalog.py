"""The catalog: every event type, its payload model, topic, key and upcasters.

A ``Catalog`` is the single source for validation, docs and JSON Schemas.
The module-level ``CATALOG`` is filled by the bounded-context modules through
the ``event`` decorator; tests may build their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, TypeVar

from pydantic import ValidationError, create_model
from pydantic_core import ErrorDetails

from events.envelope import Envelope, Payload, utcnow
from events.errors import InvalidEvent, UndecodableEvent, UnknownEventType, UpcastError
from events.text import CLEAN_JSON, TEXT_ERROR_TYPE, json_is_clean, storable, text_problem
from events.topics import Context

__all__ = ["CATALOG", "Catalog", "EventSpec", "Upcaster", "event"]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_T = TypeVar("_T", bound=type[Payload])


@dataclass(frozen=True)
class EventSpec:
    """One event type at its current version."""

    event_type: str
    version: int
    context: Context | None  # None: infrastructure event that may live on any context topic
    payload: type[Payload]
    key_field: str

    @property
    def summary(self) -> str:
        doc = (self.payload.__doc__ or "").strip()
        return doc.split("\n\n")[0].replace("\n", " ")

    @cached_property
    def envelope_model(self) -> type[Envelope]:
        """The envelope with this payload type, for validation and JSON Schema."""
        name = "".join(part.title() for part in self.event_type.split("-")) + "Event"
        model: type[Envelope] = create_model(
            name,
            __base__=Envelope,
            __doc__=self.summary,
            event_type=(Literal[self.event_type], ...),  # type: ignore[valid-type,arg-type]
            event_version=(Literal[self.version], ...),  # type: ignore[valid-type,arg-type]
            payload=(self.payload, ...),
        )
        return model


class Catalog:
    def __init__(self) -> None:
        self._specs: dict[str, EventSpec] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    # registration -----------------------------------------------------------
    def register(self, spec: EventSpec) -> None:
        if spec.event_type in self._specs:
            raise ValueError(f"event type {spec.event_type!r} registered twice")
        if spec.key_field not in spec.payload.model_fields:
            raise ValueError(f"{spec.event_type}: key field {spec.key_field!r} not in payload")
        spec.payload.event_type = spec.event_type
        spec.payload.event_version = spec.version
        spec.payload.event_context = spec.context
        spec.payload.key_field = spec.key_field
        self._specs[spec.event_type] = spec

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register ``fn`` turning a payload of ``from_version`` into ``from_version + 1``."""

        def deco(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"upcaster for {key} registered twice")
            self._upcasters[key] = fn
            return fn

        return deco

    # lookup -------------------------------------------------------------------
    def __contains__(self, event_type: object) -> bool:
        return event_type in self._specs

    def __iter__(self) -> Any:
        return iter(sorted(self._specs.values(), key=lambda s: (str(s.context), s.event_type)))

    def spec(self, event_type: str) -> EventSpec:
        try:
            return self._specs[event_type]
        except KeyError:
            raise UnknownEventType(
                f"unknown event_type {event_type!r}", event_type=event_type
            ) from None

    def upcasters(self) -> list[tuple[str, int]]:
        return sorted(self._upcasters)

    # validation ---------------------------------------------------------------
    def upcast(self, event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        spec = self.spec(event_type)
        if version > spec.version:
            raise UnknownEventType(
                f"{event_type} version {version} is newer than this catalog (v{spec.version})",
                event_type=event_type,
            )
        while version < spec.version:
            fn = self._upcasters.get((event_type, version))
            if fn is None:
                raise UnknownEventType(
                    f"no upcaster for {event_type} v{version} -> v{version + 1}",
                    event_type=event_type,
                )
            try:
                payload = fn(dict(payload))
            except Exception as exc:
                raise UpcastError(
                    f"upcasting {event_type} v{version} failed: {exc}", event_type=event_type
                ) from exc
            version += 1
        return payload

    def validate(
        self, raw: object, *, fill_defaults: bool = False, source: str = "api"
    ) -> Envelope:
        """Turn a decoded JSON value into a typed envelope, upcasting old versions.

        With ``fill_defaults`` (the HTTP API), a client may omit ``event_id``,
        ``occurred_at``, ``key``, ``correlation_id``, ``source`` and
        ``event_version``; they are filled in the usual way.
        """
        if not isinstance(raw, Mapping):
            raise InvalidEvent(
                "an event must be a JSON object",
                errors=[{"loc": [], "msg": "not an object", "type": "object_type"}],
            )
        event_type = raw.get("event_type")
        if not isinstance(event_type, str):
            raise InvalidEvent(
                "event_type is missing or not a string",
                errors=[{"loc": ["event_type"], "msg": "required string", "type": "missing"}],
            )
        spec = self.spec(event_type)
        data = dict(raw)
        if fill_defaults:
            data.setdefault("event_version", spec.version)
        version = data.get("event_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidEvent(
                "event_version is missing or not an integer",
                event_type=event_type,
                errors=[{"loc": ["event_version"], "msg": "required integer", "type": "int_type"}],
            )
        payload = data.get("payload")
        if isinstance(payload, Mapping) and version != spec.version:
            data["payload"] = self.upcast(event_type, version, dict(payload))
            data["event_version"] = spec.version
        if fill_defaults:
            eid = data.setdefault("event_id", str(uuid.uuid4()))
            data.setdefault("occurred_at", utcnow())
            data.setdefault("correlation_id", eid)
            data.setdefault("source", source)
            if "key" not in data and isinstance(data.get("payload"), Mapping):
                key_value = data["payload"].get(spec.key_field)
                if key_value is not None:
                    data["key"] = str(key_value)
        try:
            envelope = spec.envelope_model.model_validate(data)
        except ValidationError as exc:
            raise _invalid(event_type, exc) from None
        return _check_key(spec, envelope)

    def validate_json(self, spec: EventSpec, value: bytes) -> Envelope:
        """The fast path for bytes already known to be ``spec``'s current version.

        Parses and validates in one pass (pydantic-core); the decoder takes this
        path when the Kafka headers name the type and the current version.
        """
        context = CLEAN_JSON if json_is_clean(value) else None
        try:
            envelope = spec.envelope_model.model_validate_json(value, context=context)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise UndecodableEvent(f"not JSON: {exc.errors()[0]['msg']}") from None
            raise _invalid(spec.event_type, exc) from None
        return _check_key(spec, envelope)


def _invalid(event_type: str, exc: ValidationError) -> InvalidEvent:
    details = [_explain_text(e) for e in exc.errors()]
    # loc and msg may quote input (an unknown key, a parser's complaint): keep them storable
    errors: list[dict[str, object]] = [
        {
            "loc": [storable(p) if isinstance(p, str) else p for p in e["loc"]],
            "msg": storable(e["msg"]),
            "type": e["type"],
        }
        for e in details
    ]
    first = errors[0]
    where = ".".join(str(p) for p in details[0]["loc"]) or "<event>"  # InvalidEvent escapes it
    return InvalidEvent(
        f"{event_type}: {where}: {first['msg']}", event_type=event_type, errors=errors
    )


def _explain_text(error: ErrorDetails) -> ErrorDetails:
    """pydantic's own refusal of a surrogate in a constrained string, in the catalog's words.

    pydantic refuses it where a field has constraints and ``events.text`` where
    it has none; either way the error reads the same.
    """
    text = error.get("input")
    if error["type"] == "string_unicode" and isinstance(text, str):
        problem = text_problem(text)
        if problem is not None:
            return {**error, "type": TEXT_ERROR_TYPE, "msg": problem}
    return error


def _check_key(spec: EventSpec, envelope: Envelope) -> Envelope:
    expected_key = envelope.payload.aggregate_key()
    if envelope.key != expected_key:
        raise InvalidEvent(
            f"{spec.event_type}: key must equal payload.{spec.key_field} ({expected_key!r})",
            event_type=spec.event_type,
            errors=[{"loc": ["key"], "msg": "must equal the aggregate id", "type": "value"}],
        )
    return envelope


CATALOG = Catalog()


def event(
    event_type: str,
    *,
    context: Context | None,
    key: str,
    version: int = 1,
    catalog: Catalog = CATALOG,
) -> Callable[[_T], _T]:
    """Class decorator registering a payload model in the catalog."""

    def deco(cls: _T) -> _T:
        catalog.register(EventSpec(event_type, version, context, cls, key))
        return cls

    return deco
