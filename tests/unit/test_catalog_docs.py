"""The committed docs and JSON Schemas match the catalog; the compose file is sound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from events import CATALOG
from services.bootstrap import bootstrap
from services.settings import Settings
from tools.devstack.compose import with_agent_services, worker_commands

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_committed_docs_match_the_catalog() -> None:
    files = bootstrap(Settings()).docs()
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
    agents = {n for n, s in services.items() if s.get("command", [])[:3] == ["nls", "agent", "run"]}
    assert agents == set(worker_commands(bootstrap(Settings()))), "run `nls dev compose`"
    assert "redpanda" in services["redpanda"]["image"]
    assert "console" in services["console"]["image"]
    console_config = yaml.safe_load(services["console"]["environment"]["CONSOLE_CONFIG_FILE"])
    assert console_config["schemaRegistry"]["enabled"] is True
    assert console_config["schemaRegistry"]["urls"] == ["http://redpanda:8081"]
    assert any("--schema-registry-addr" in arg for arg in services["redpanda"]["command"])
    assert services["diagnoser"]["environment"]["NLS_IDEMPOTENT_PRODUCER"] == "true"
    assert {"redpanda-data", "postgres-data", "faust-data"} <= set(compose["volumes"])
    assert (ROOT / "infra" / "Dockerfile").exists()


def test_the_compose_files_agents_are_the_registrys() -> None:
    text = (ROOT / "infra" / "redpanda-compose.yml").read_text()
    assert with_agent_services(text, bootstrap(Settings())) == text, "run `nls dev compose`"


def test_the_docs_say_who_produces_consumes_and_folds_each_type() -> None:
    events_md = bootstrap(Settings()).docs()["events.md"]
    row = next(line for line in events_md.splitlines() if line.startswith("| `failure-diagnosed`"))
    assert "`diagnoser`" in row and "`remediation`" in row and "`learning`" in row
