"""The seed's log lines: Phase 1's token reduction when a series loads its positions, and
"[Drill Series <id>] N/M batches failed" as a warning when batches fail."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from datetime import timedelta
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from events.drills import DrillSeriesRequested, GamePhase
from services.bus.consumer import Delivery
from services.drills import agents, saga
from services.drills.agents import SeriesOrchestrator
from services.drills.loading import load_positions
from tests.support.drills import HERE, T0, lib, library, request, run_series

pytestmark = pytest.mark.unit


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    # Loggers cache their configuration on first use (cache_logger_on_first_use): fresh
    # ones made inside capture_logs() log into the capture, at every level.
    wrapper = structlog.get_config()["wrapper_class"]
    with capture_logs() as captured:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
        for module in (agents, saga):
            monkeypatch.setattr(module, "log", structlog.get_logger(module.__name__))
        try:
            yield captured
        finally:
            structlog.configure(wrapper_class=wrapper)


def _series_lines(
    logs: list[MutableMapping[str, Any]], artifact: object
) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"].startswith(f"[Drill Series {artifact}]")]


async def test_loading_positions_logs_the_tokens_phase_1_saves(
    logs: list[MutableMapping[str, Any]],
) -> None:
    req = request(target_drill_count=20, game_phases=[GamePhase.EARLY, GamePhase.MIDDLE])
    r = req.payload_as(DrillSeriesRequested)
    await SeriesOrchestrator(lib).handle(req, HERE)
    expected = load_positions(
        library(30), r.game_phases, target_drills=20, max_per_phase=None, seed=r.seed
    )
    (line,) = _series_lines(logs, r.artifact_id)
    assert line["log_level"] == "info"
    assert line["event"] == (
        f"[Drill Series {r.artifact_id}] loaded 24 positions: ~{expected.tokens:,} tokens "
        f"against ~{expected.fixed_maximum_tokens:,} for the fixed maximum "
        f"({expected.savings:.0%} saved)"
    )
    assert line["positions"] == 24 and line["positions_per_phase"] == 12
    assert line["context_tokens"] == expected.tokens < line["fixed_maximum_tokens"]
    assert line["tokens_saved"] == expected.fixed_maximum_tokens - expected.tokens
    assert 0.4 < line["saved_ratio"] < 1


async def test_a_failing_batch_logs_the_seeds_warning(logs: list[MutableMapping[str, Any]]) -> None:
    req = request()
    artifact = req.payload_as(DrillSeriesRequested).artifact_id
    await run_series(req, break_batch=2)
    (warning,) = [e for e in _series_lines(logs, artifact) if e["log_level"] == "warning"]
    assert warning["event"] == f"[Drill Series {artifact}] 1/5 batches failed"
    assert warning["failed_batches"] == [2] and warning["total_batches"] == 5
    assert warning["status"] == "COMPLETED" and warning["drills"] == 20
    assert warning["deadline_passed"] is False


async def test_no_warning_when_every_batch_succeeds(logs: list[MutableMapping[str, Any]]) -> None:
    req = request()
    await run_series(req)
    lines = _series_lines(logs, req.payload_as(DrillSeriesRequested).artifact_id)
    assert [e["log_level"] for e in lines] == ["info"]  # the loading line only


async def test_nothing_by_the_deadline_logs_every_batch_failed(
    logs: list[MutableMapping[str, Any]],
) -> None:
    req = request(deadline_s=60)
    artifact = req.payload_as(DrillSeriesRequested).artifact_id
    _, _, _, handler = await run_series(req, deliver=False)
    (due,) = handler.due_deadlines(T0 + timedelta(seconds=61))
    await handler.handle(due, Delivery("t.drills", 0, 99, None, b"", ()))
    (warning,) = [e for e in _series_lines(logs, artifact) if e["log_level"] == "warning"]
    assert warning["event"] == f"[Drill Series {artifact}] 5/5 batches failed"
    assert warning["status"] == "FAILED" and warning["deadline_passed"] is True


async def test_a_library_without_the_phase_is_logged_as_a_failed_series(
    logs: list[MutableMapping[str, Any]],
) -> None:
    async def empty(engine: str) -> dict:  # type: ignore[type-arg]
        return {}

    req = request(game_phases=[GamePhase.BEAROFF])
    artifact = req.payload_as(DrillSeriesRequested).artifact_id
    await SeriesOrchestrator(empty).handle(req, HERE)
    (warning,) = _series_lines(logs, artifact)
    assert warning["log_level"] == "warning" and "run `nls positions seed`" in warning["reason"]
