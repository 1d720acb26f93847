"""The seed's log lines, by name, as values the pure parts return and the agents emit.

The seed's "Logs emitted" list: ``Generating candidates in parallel`` (K, subject,
grade), ``Candidate generation completed`` (succeeded count, avg tokens),
``Candidate scores`` (a score per candidate), ``Candidates too similar`` (when a
pair is over 85 %), ``Best candidate selected`` (index, score) and ``All candidates
below minimum viable score`` (the short-circuit). Deciding a line is pure (tests
read the values); emitting it is the agent's one side effect besides publishing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

__all__ = [
    "BELOW_MINIMUM",
    "BELOW_REVIEW",
    "COMPLETED",
    "GENERATING",
    "GENERATING_SINGLE",
    "SCORES",
    "SEED_LINES",
    "SELECTED",
    "TOO_SIMILAR",
    "LogLine",
    "emit",
]

GENERATING = "Generating candidates in parallel"
COMPLETED = "Candidate generation completed"
SCORES = "Candidate scores"
TOO_SIMILAR = "Candidates too similar"
SELECTED = "Best candidate selected"
BELOW_MINIMUM = "All candidates below minimum viable score"
SEED_LINES = (GENERATING, COMPLETED, SCORES, TOO_SIMILAR, SELECTED, BELOW_MINIMUM)
# This platform's own, beside the seed's.
GENERATING_SINGLE = "Generating a single course"
BELOW_REVIEW = "Selected candidate below review threshold"

log = structlog.get_logger("services.courses")


@dataclass(frozen=True)
class LogLine:
    event: str
    fields: dict[str, Any] = field(default_factory=dict)
    level: Literal["info", "warning"] = "info"


def emit(lines: list[LogLine]) -> None:
    for line in lines:
        getattr(log, line.level)(line.event, **line.fields)
