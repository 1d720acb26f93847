"""Prometheus metrics of the workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the dev stack sets it), every worker
process writes its samples there and the API's ``/metrics`` aggregates them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "DEAD_LETTERS",
    "EVENTS_CONSUMED",
    "EVENTS_PUBLISHED",
    "HANDLE_SECONDS",
    "LLM_CALLS",
    "LLM_SECONDS",
]

EVENTS_CONSUMED = Counter(
    "nls_events_consumed", "Messages consumed by an agent or projector", ["agent", "topic"]
)
EVENTS_PUBLISHED = Counter("nls_events_published", "Events published by an agent", ["agent"])
DEAD_LETTERS = Counter(
    "nls_dead_letters", "Messages sent to a dead-letter topic", ["agent", "kind"]
)
HANDLE_SECONDS = Histogram(
    "nls_handle_seconds",
    "Time to handle one batch",
    ["agent"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

LLM_CALLS = Counter(
    "nls_llm_calls",
    "Gateway calls by outcome (ok or the failure reason)",
    ["provider", "task", "outcome"],
)
LLM_SECONDS = Histogram(
    "nls_llm_seconds",
    "Latency of gateway calls, re-asks included",
    ["provider", "task"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80),
)
