"""What `nls drills status` and the live bar of `nls drills request` say about a series:
the seed's "Generated X/Y drills (Batch A/B)", failed batches and the warning."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from projections.drills import SeriesView
from services.drills.cli import status_lines
from tools.cli.main import app

pytestmark = pytest.mark.unit

ID = uuid.UUID("5e0c7d1a-2b3c-4d5e-8f90-a1b2c3d4e5f6")


def progress_of(view: SeriesView) -> str:
    return view.progress


def view(**kw: Any) -> SeriesView:
    values: dict[str, Any] = {
        "artifact_id": ID,
        "project_id": "p1",
        "status": "GENERATING",
        "target_drills": 25,
        "total_batches": 5,
        "completed_batches": 0,
        "failed_batches": [],
        "drills_generated": 0,
        "context_tokens": 2779,
        "fixed_maximum_tokens": 5832,
        "warning": None,
        "disagreements": [],
        "requested_at": datetime(2026, 11, 22, tzinfo=UTC),
        "finished_at": None,
    }
    return SeriesView(**(values | kw))


@pytest.mark.parametrize(
    ("done", "failed", "text"),
    [
        (0, [], "Generated 0/25 drills (Batch 0/5)"),
        (2, [], "Generated 10/25 drills (Batch 2/5)"),
        (3, [], "Generated 15/25 drills (Batch 3/5)"),  # the seed's UI line
        (3, [1], "Generated 15/25 drills (Batch 4/5)"),  # a failed batch has reported too
        (5, [], "Generated 25/25 drills (Batch 5/5)"),
    ],
)
def test_the_progress_line_counts_drills_and_reported_batches(
    done: int, failed: list[int], text: str
) -> None:
    assert (
        progress_of(view(completed_batches=done, drills_generated=5 * done, failed_batches=failed))
        == text
    )


def test_a_series_whose_batches_are_not_planned_yet() -> None:
    pending = view(status="PENDING", total_batches=None, context_tokens=None)
    assert progress_of(pending) == "Generated 0/25 drills (batches not planned yet)"
    assert status_lines(pending) == [
        f"drill series {ID} (project p1): PENDING",
        "Generated 0/25 drills (batches not planned yet)",
    ]


def test_a_partly_failed_series_shows_its_failed_batches_and_the_warning() -> None:
    done = view(
        status="COMPLETED",
        completed_batches=4,
        failed_batches=[2],
        drills_generated=20,
        warning="batches [2] failed",
        finished_at=datetime(2026, 11, 22, 0, 1, tzinfo=UTC),
    )
    assert status_lines(done) == [
        f"drill series {ID} (project p1): COMPLETED",
        "Generated 20/25 drills (Batch 5/5)",
        "failed batches: 2 (1 of 5)",
        "warning: batches [2] failed",
        "positions sent: ~2,779 tokens against ~5,832 for the fixed maximum (52% saved)",
        "verification: 0 disagreement(s) with the engine",
    ]


def test_a_clean_series_says_none_failed_and_names_a_disagreement() -> None:
    lines = status_lines(
        view(
            status="COMPLETED",
            completed_batches=5,
            drills_generated=25,
            disagreements=["drill 3: keyed '13/9', the engine's best is '8/5 6/5'"],
        )
    )
    assert "failed batches: none (0 of 5)" in lines
    assert lines[-1] == (
        "verification: 1 disagreement(s) with the engine; "
        "first: drill 3: keyed '13/9', the engine's best is '8/5 6/5'"
    )


def test_status_refuses_an_id_that_is_not_a_uuid_before_reading_anything() -> None:
    result = CliRunner().invoke(app, ["drills", "status", "series-1"])
    assert result.exit_code == 2
    assert "'series-1' is not a drill series id (a UUID)" in result.stderr
