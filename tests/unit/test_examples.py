"""examples/: a valid input for every command that reads a file, checked against the event
catalog and the models (no broker, no database); `nls training jit` runs on its example."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from events import CATALOG, Envelope
from events.drills import DrillSeriesRequested, GamePhase
from events.learning import AnswerSubmitted
from events.training import JITInput, SessionJitRequested
from services.content.pack import load_pack
from tests.conftest import ROOT
from tools.cli.main import app

pytestmark = pytest.mark.unit

EXAMPLES = ROOT / "examples"
SESSION = EXAMPLES / "session.json"
EVENTS = EXAMPLES / "events.jsonl"


def events() -> list[Envelope]:
    """The events file as `nls publish` reads JSON lines: each validated, defaults filled."""
    lines = [line for line in EVENTS.read_bytes().splitlines() if line.strip()]
    return [
        CATALOG.validate(orjson.loads(line), fill_defaults=True, source="cli") for line in lines
    ]


def test_every_example_is_checked_here() -> None:
    shipped = {p.name for p in EXAMPLES.iterdir() if p.name != "README.md"}
    assert shipped == {SESSION.name, EVENTS.name}
    readme = (EXAMPLES / "README.md").read_text("utf-8")
    assert all(f"`{name}`" in readme for name in shipped)


def test_the_session_is_a_valid_jit_input() -> None:
    session = JITInput.model_validate_json(SESSION.read_bytes())
    assert session.main_lift.lift == "squat" and session.training_max() == 162.5
    assert set(session.recovery.soreness) <= set(session.landmarks)
    assert all(m in session.landmarks for a in session.auxiliary for m in a.muscles)


def test_the_events_file_is_valid_against_the_catalog() -> None:
    published = events()
    assert [e.event_type for e in published] == [
        "answer-submitted",
        "drill-series-requested",
        "session-jit-requested",
    ]
    # Fixed ids: publishing the file twice is deduplicated by every consumer.
    assert len({e.event_id for e in published}) == 3
    assert [e.event_id for e in published] == [e.event_id for e in events()]
    answer, series, session = (e.payload for e in published)

    assert isinstance(answer, AnswerSubmitted) and not answer.correct
    ccna = {c.concept_id: c.slug for c in load_pack(ROOT / "packs" / "ccna").concepts}
    assert ccna[answer.concept_id] == "ospf"
    assert answer.answer_concept_id is not None and ccna[answer.answer_concept_id] == "ripv2"

    assert isinstance(series, DrillSeriesRequested)
    assert series.game_phases == [GamePhase.OPENING, GamePhase.EARLY]
    assert series.target_drill_count == 10 and series.batched

    assert isinstance(session, SessionJitRequested)
    assert session.input == JITInput.model_validate_json(SESSION.read_bytes())


def test_nls_training_jit_runs_on_the_example_session() -> None:
    result = CliRunner().invoke(
        app, ["training", "jit", str(SESSION), "--strategy", "formula"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "session ada-2026-w03-squat (formula)" in out
    # 162.5 kg x 70/75/80/80 %, rounded to what the bar and plates make.
    assert "5 @ 112.5, 5 @ 122.5, 5 @ 130, 5 @ 130" in out
    assert "leg-curl (reduce)" in out  # hamstrings sore at 7


def test_a_broken_copy_of_an_example_is_refused_naming_the_field(tmp_path: Path) -> None:
    broken = tmp_path / "session.json"
    broken.write_text(SESSION.read_text("utf-8").replace('"week": 3', '"week": 0'))
    result = CliRunner().invoke(app, ["training", "jit", str(broken)])
    assert result.exit_code == 1 and "week: Input should be greater than or equal to 1" in " ".join(
        result.stderr.split()
    )
