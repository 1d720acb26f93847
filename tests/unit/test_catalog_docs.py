"""The committed docs and JSON Schemas match the catalog; the compose file is sound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from events import CATALOG
from events.docs import render

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_committed_docs_match_the_catalog() -> None:
    files = render()
    drifted = [p for p, text in files.items() if (ROOT / "docs" / p).read_text() != text]
    assert not drifted, f"run `nls events docs`: {drifted} differ from the catalog"
    on_disk = {
        p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs" / "schemas").glob("*.json")
    }
    assert on_disk == {p for p in files if p.startswith("schemas/")}, "stale schema files"


def test_every_schema_describes_the_envelope_and_payload() -> None:
    for spec in CATALOG:
        schema = json.loads(
            (ROOT / "docs" / f"schemas/{spec.event_type}.v{spec.version}.json").read_text()
        )
        assert schema["title"] == spec.event_type
        assert set(schema["required"]) >= {
            "event_id",
            "event_type",
            "event_version",
            "payload",
            "key",
        }
        assert schema["properties"]["event_type"]["const"] == spec.event_type


def test_compose_file_names_redpanda_console_postgres_and_the_services() -> None:
    compose = yaml.safe_load((ROOT / "infra" / "redpanda-compose.yml").read_text())
    services = compose["services"]
    assert {"redpanda", "console", "postgres", "diagnoser", "projector", "api"} <= set(services)
    assert "redpanda" in services["redpanda"]["image"]
    assert "console" in services["console"]["image"]
    console_config = yaml.safe_load(services["console"]["environment"]["CONSOLE_CONFIG_FILE"])
    assert console_config["kafka"]["schemaRegistry"]["enabled"] is True
    assert console_config["kafka"]["schemaRegistry"]["urls"] == ["http://redpanda:8081"]
    assert any("--schema-registry-addr" in arg for arg in services["redpanda"]["command"])
    assert services["diagnoser"]["environment"]["NLS_IDEMPOTENT_PRODUCER"] == "true"
    assert set(compose["volumes"]) == {"redpanda-data", "postgres-data"}
    assert (ROOT / "infra" / "Dockerfile").exists()
