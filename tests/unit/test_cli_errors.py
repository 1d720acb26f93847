"""The CLI names the problem (and exits non-zero) for what a user gets wrong; no broker needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.runtime.cli import run
from services.settings import get_settings
from tools.cli.main import app


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "NLS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NLS_STATE_DIR", str(tmp_path / "state"))  # no running dev stack
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def said(result: object) -> str:
    return " ".join(str(getattr(result, "output", "")).split())


def test_an_unknown_agent_is_a_usage_error_naming_the_known_ones(cli: CliRunner) -> None:
    result = cli.invoke(app, ["agent", "run", "nope"])
    assert result.exit_code == 2
    assert "unknown agent 'nope'" in said(result) and "diagnoser" in said(result)


def test_an_unknown_read_model_is_a_usage_error(cli: CliRunner) -> None:
    result = cli.invoke(app, ["projections", "checksum", "-p", "nope"])
    assert result.exit_code == 2 and "unknown read model 'nope'" in said(result)
    assert "learning" in said(result)


def test_no_database_configured_is_said_not_raised(cli: CliRunner) -> None:
    result = cli.invoke(app, ["dlq", "list"])
    assert result.exit_code == 1
    assert "no database configured: set DATABASE_URL or start `nls dev up`" in said(result)


def test_no_broker_configured_is_said_not_raised(cli: CliRunner, tmp_path: Path) -> None:
    events = tmp_path / "e.json"
    events.write_text('{"event_type": "session-jit-requested", "payload": {"session_id": "s"}}')
    bad = cli.invoke(app, ["publish", str(events)])
    assert bad.exit_code == 1 and "event 0" in said(bad) and "payload" in said(bad)
    good = Path(__file__).resolve().parents[2] / "examples" / "events.jsonl"
    result = cli.invoke(app, ["publish", str(good)])
    assert result.exit_code == 1
    assert "no broker configured: set KAFKA_BOOTSTRAP_SERVERS" in said(result)


def test_a_bad_events_file_names_the_line_or_the_field(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text(
        '{"event_type": "answer-submitted", "payload": {}}\n{oops\n'
    )
    r = cli.invoke(app, ["publish", str(tmp_path / "bad.jsonl")])
    assert r.exit_code == 1 and "bad.jsonl:2: not JSON" in said(r)
    (tmp_path / "bad.json").write_text(
        '[{"event_type": "answer-submitted", "payload": {"learner_id": "a"}}]'
    )
    r = cli.invoke(app, ["publish", str(tmp_path / "bad.json")])
    assert r.exit_code == 1 and "event 0" in said(r) and "payload.session_id" in said(r)


def test_the_committed_docs_check_passes(cli: CliRunner) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    r = cli.invoke(app, ["events", "docs", "--check", "--out", str(docs)])
    assert r.exit_code == 0, said(r)


def test_a_missing_file_is_named(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["training", "jit", str(tmp_path / "nope.json")])
    assert result.exit_code == 1 and "nope.json" in said(result)


def test_a_bug_is_not_passed_off_as_a_user_error() -> None:
    """Only NlsError becomes a message: anything else keeps its traceback."""

    async def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        run(broken())
