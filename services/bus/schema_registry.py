"""The catalog's JSON Schemas in a schema registry (Confluent's REST API; Redpanda's).

One subject per event type, ``<topic prefix>.<event-type>`` (``nls.answer-submitted``),
one registry version per ``event_version``. Why not ``<topic>-value``: a topic
carries every event type of its context, so one subject per topic would need a
union schema and would make every type's change a version of the whole union.
Our records are plain JSON (no schema-id prefix), so Redpanda Console never
looks a schema up to decode them; the registry is the browsable contract, and
per-type subjects give each type its own history. The prefix keeps two
deployments that share a registry apart, as their topics are.

Compatibility is ``NONE`` on these subjects: the catalog decides what an old
payload becomes (upcasters), which the registry cannot know, so its checks
would only refuse legitimate new versions. Registering is idempotent: a schema
the subject already holds is reported unchanged and not written again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

from events.catalog import Catalog, EventSpec
from events.docs import schema_for
from events.errors import NlsError
from services.settings import Settings

__all__ = [
    "CONTENT_TYPE",
    "Registration",
    "SchemaRegistry",
    "SchemaRegistryError",
    "SchemaRegistryUnavailable",
    "register_catalog",
    "schema_text",
    "subject_for",
]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# Confluent's error codes: subject not found, schema not found under the subject.
_NOT_FOUND = {40401, 40403}


class SchemaRegistryError(NlsError):
    """The registry refused a request (the subject and the registry's reason say why)."""

    def __init__(self, message: str, *, subject: str | None = None, status: int = 0) -> None:
        super().__init__(message)
        self.subject = subject
        self.status = status


class SchemaRegistryUnavailable(SchemaRegistryError):
    """The registry did not answer, or answered 5xx: trying later may succeed."""

    retryable = True


@dataclass(frozen=True)
class Registration:
    subject: str
    event_type: str
    event_version: int
    schema_id: int
    status: Literal["registered", "unchanged"]


def subject_for(prefix: str, event_type: str) -> str:
    return f"{prefix}.{event_type}"


def schema_text(spec: EventSpec) -> str:
    """The schema as registered: docs/schemas' JSON for the type, compact and key-sorted
    (the registry compares schemas as text)."""
    return json.dumps(schema_for(spec), sort_keys=True, separators=(",", ":"))


class SchemaRegistry:
    """A small client of the REST API: look up, register, set compatibility, list."""

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        verify: Any = True,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.url,
            auth=auth,
            verify=verify,
            transport=transport,
            timeout=timeout_s,
            headers={"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE},
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> SchemaRegistry:
        if not settings.schema_registry_url:
            raise SchemaRegistryError("no schema registry configured: set NLS_SCHEMA_REGISTRY_URL")
        auth = None
        if settings.schema_registry_username:
            password = settings.schema_registry_password
            auth = (
                settings.schema_registry_username,
                password.get_secret_value() if password else "",
            )
        # An https registry is verified against the cluster's CA when one is given.
        verify: Any = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else True
        return cls(settings.schema_registry_url, auth=auth, verify=verify, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> SchemaRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _request(
        self, method: str, path: str, subject: str | None, body: Any = None
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise SchemaRegistryUnavailable(
                f"schema registry {self.url} did not answer: {exc}", subject=subject
            ) from None
        if response.status_code >= 500:
            raise SchemaRegistryUnavailable(
                f"schema registry {self.url} failed ({response.status_code}): {_reason(response)}",
                subject=subject,
                status=response.status_code,
            )
        return response

    async def lookup(self, subject: str, schema: str) -> int | None:
        """The id of ``schema`` if ``subject`` already holds it, else None."""
        response = await self._request(
            "POST",
            f"/subjects/{quote(subject, safe='')}",
            subject,
            {"schema": schema, "schemaType": "JSON"},
        )
        if response.status_code == 404 and _code(response) in _NOT_FOUND:
            return None
        _raise_for(response, subject)
        return int(response.json()["id"])

    async def register(self, subject: str, schema: str) -> int:
        """Add ``schema`` as the subject's newest version; returns its id."""
        response = await self._request(
            "POST",
            f"/subjects/{quote(subject, safe='')}/versions",
            subject,
            {"schema": schema, "schemaType": "JSON"},
        )
        _raise_for(response, subject)
        return int(response.json()["id"])

    async def set_compatibility(self, subject: str, level: str) -> None:
        response = await self._request(
            "PUT", f"/config/{quote(subject, safe='')}", subject, {"compatibility": level}
        )
        _raise_for(response, subject)

    async def subjects(self) -> list[str]:
        response = await self._request("GET", "/subjects", None)
        _raise_for(response, None)
        return [str(s) for s in response.json()]


def _code(response: httpx.Response) -> int | None:
    try:
        return int(response.json().get("error_code"))
    except (ValueError, TypeError, AttributeError):
        return None


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except (ValueError, AttributeError):
        return response.text


def _raise_for(response: httpx.Response, subject: str | None) -> None:
    if response.is_success:
        return
    where = f" for {subject}" if subject else ""
    raise SchemaRegistryError(
        f"schema registry refused{where} ({response.status_code}): {_reason(response)}",
        subject=subject,
        status=response.status_code,
    )


async def register_catalog(
    registry: SchemaRegistry, catalog: Catalog | Iterable[EventSpec], prefix: str
) -> list[Registration]:
    """Register every event type's schema under its subject (idempotent)."""
    done: list[Registration] = []
    for spec in catalog:
        subject = subject_for(prefix, spec.event_type)
        text = schema_text(spec)
        found = await registry.lookup(subject, text)
        if found is not None:
            done.append(Registration(subject, spec.event_type, spec.version, found, "unchanged"))
            continue
        await registry.set_compatibility(subject, "NONE")
        schema_id = await registry.register(subject, text)
        done.append(Registration(subject, spec.event_type, spec.version, schema_id, "registered"))
    return done
