"""The request body of ``POST /v1/events`` in the OpenAPI document, generated from the catalog.

The endpoint validates with the catalog itself (upcasting, filling defaults,
naming the failing index); this module describes the same contract, one
envelope schema per event type with its payload, so the document can never
drift from what the endpoint accepts.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic.json_schema import models_json_schema

from events import Catalog, EventSpec

__all__ = ["FILLED_FIELDS", "MAX_BATCH", "describe_event_body", "publishable"]

MAX_BATCH = 1000
# Envelope fields a client may leave out; the API fills them in (``Catalog.validate``).
FILLED_FIELDS = ("event_id", "event_version", "occurred_at", "key", "correlation_id", "source")
_PREFIX = "events."


def publishable(spec: EventSpec) -> bool:
    """Infrastructure events (no context of their own, e.g. saga deadlines) are internal."""
    return spec.context is not None


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{_PREFIX}{name}"}


def _input_schema(spec: EventSpec, schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out["required"] = [f for f in out.get("required", []) if f not in FILLED_FIELDS]
    # Older versions are upcast on the way in.
    out["properties"]["event_version"] = {
        "type": "integer",
        "minimum": 1,
        "maximum": spec.version,
        "default": spec.version,
        "title": "Event Version",
    }
    return out


def describe_event_body(openapi: dict[str, Any], catalog: Catalog, path: str) -> None:
    """Add the catalog's event union as ``path``'s POST request body (in place)."""
    specs = [s for s in catalog if publishable(s)]
    models = [(s.envelope_model, "validation") for s in specs]
    refs, top = models_json_schema(
        models,  # type: ignore[arg-type]
        ref_template=f"#/components/schemas/{_PREFIX}{{model}}",
    )
    defs: dict[str, Any] = top.get("$defs", {})
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    names = {}
    for spec in specs:
        name = refs[(spec.envelope_model, "validation")]["$ref"].rsplit("/", 1)[1]
        plain = name.removeprefix(_PREFIX)
        defs[plain] = _input_schema(spec, defs[plain])
        names[spec.event_type] = plain
    for name, schema in defs.items():
        components[_PREFIX + name] = schema
    components[_PREFIX + "Event"] = {
        "title": "Event",
        "description": "One event of the catalog; `event_type` selects its payload.",
        "oneOf": [_ref(n) for n in names.values()],
        "discriminator": {
            "propertyName": "event_type",
            "mapping": {t: _ref(n)["$ref"] for t, n in names.items()},
        },
    }
    operation = openapi["paths"][path]["post"]
    operation["requestBody"] = {
        "required": True,
        "description": f"one event, or a batch of 1 to {MAX_BATCH} (published all or nothing)",
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _ref("Event"),
                        {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_BATCH,
                            "items": _ref("Event"),
                        },
                    ]
                }
            }
        },
    }
