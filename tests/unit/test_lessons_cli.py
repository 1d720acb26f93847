"""``nls lessons``: generating in-process with live phase progress, showing a lesson."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from services.lessons import cli
from services.lessons.cli import lessons_app, phase_table, render_lesson
from tests.support.lessons import lesson_for, lesson_view

pytestmark = pytest.mark.unit

runner = CliRunner()


def test_generate_runs_the_pipeline_in_process_and_shows_the_lesson() -> None:
    result = runner.invoke(
        lessons_app,
        ["generate", "--pack", "cg2365", "--topic", "ohms-law", "--strategy", "rules", "--local"],
    )
    assert result.exit_code == 0, result.output
    assert "planning" in result.output and "assembler" in result.output
    assert "completed: version 1, score" in result.output
    assert "worked-example" in result.output and "V = I" in result.output


@pytest.mark.parametrize(
    ("args", "said", "code"),
    [
        (["--pack", "knitting", "--topic", "x"], "no content pack 'knitting'", 1),
        (["--pack", "ccna", "--topic", "knitting"], "no concept or cluster 'knitting'", 1),
        (["--pack", "ccna", "--topic", "ospf", "--strategy", "magic"], "no strategy 'magic'", 2),
    ],
)
def test_generate_refuses_what_it_cannot_do(args: list[str], said: str, code: int) -> None:
    result = runner.invoke(lessons_app, ["generate", *args, "--local"])
    assert result.exit_code == code
    assert said in " ".join(result.output.split())


def _text(renderables: list[Any]) -> str:
    console = Console(width=120, record=True)
    for r in renderables:
        console.print(r)
    return console.export_text()


def test_a_lesson_renders_block_by_block_in_contract_order() -> None:
    lesson = lesson_for("cg2365", "final-circuits")
    lesson["blocks"].reverse()
    text = _text(render_lesson(lesson))
    heads = [line for line in text.splitlines() if " · " in line and line.startswith("╭")]
    orders = [float(h.split("─ ", 1)[1].split(" · ")[0]) for h in heads]
    assert orders == sorted(orders) and orders[0] == 1.0
    assert "Ring final circuit" in text and "answer:" in text


def test_the_phase_table_lists_all_ten_phases() -> None:
    table = phase_table([{"phase": "planning", "status": "completed", "duration_ms": 5}], "t")
    text = _text([table])
    assert "planning" in text and "rewrite" in text and text.count("waiting") == 9


def test_show_prints_the_current_version(monkeypatch: pytest.MonkeyPatch) -> None:
    view = lesson_view()
    monkeypatch.setattr(cli, "read", lambda query: view)
    result = runner.invoke(lessons_app, ["show", "cg-ring-1"])
    assert result.exit_code == 0, result.output
    assert "version 1 · score 100 · completed" in result.output
    monkeypatch.setattr(cli, "read", lambda query: None)
    missing = runner.invoke(lessons_app, ["show", "nobody"])
    assert missing.exit_code == 1 and "no lesson 'nobody'" in missing.output
