"""``workflow_events``: every domain event as one step of its workflow, and the workflow views.

Each event of every domain topic becomes one row keyed by its event id: its
correlation id (the workflow), causation id (the step that caused it), type,
key, source, when it happened, where it sits in the log, and what its model
calls cost when the payload carries usage (``events.common.usages_of``). The
console's workflow view reads a workflow's rows back in causal order (each
event after the one that caused it), with the time each step took since its
cause and its usage: the run view Inngest and Temporal show, derived from the
log alone.

Replay safety: a row depends on one record. The same event id published twice
(a duplicate, a dead letter replayed) keeps the copy with the smallest
(topic, partition, offset), whatever order the copies are folded in, so a
rebuild that folds partitions in parallel (``partition_local``) gives the rows
the live projector gave. Durations are computed when read, never stored, so no
row depends on another.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import CATALOG, TopicNames
from events.common import usages_of
from projections.base import Applied, EventProjection
from projections.db import METADATA

__all__ = [
    "WORKFLOW_EVENTS",
    "StepView",
    "WorkflowSummary",
    "WorkflowsProjection",
    "causal_order",
    "recent_workflows",
    "row_of",
    "workflow_steps",
]

WORKFLOW_EVENTS = Table(
    "workflow_events",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("correlation_id", Uuid, nullable=False),
    Column("causation_id", Uuid),
    Column("event_type", String(100), nullable=False),
    Column("event_version", Integer, nullable=False),
    Column("key", String(200), nullable=False),
    Column("source", String(100), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    # usage, summed over the payload's usage records (None: it carries none)
    Column("model_calls", Integer, nullable=False, server_default="0"),
    Column("strategy", String(64)),
    Column("provider", String(32)),
    Column("model", String(100)),
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("cost_usd", Float),
    Column("latency_ms", Float),
    Index("workflow_events_correlation_idx", "correlation_id", "occurred_at"),
    Index("workflow_events_time_idx", "occurred_at"),
)

_COLUMNS = [c.name for c in WORKFLOW_EVENTS.columns]


def row_of(item: Applied) -> dict[str, Any]:
    """The row of one folded record."""
    ev, d = item.envelope, item.delivery
    usages = usages_of(ev.payload)
    row: dict[str, Any] = {
        "event_id": ev.event_id,
        "correlation_id": ev.correlation_id,
        "causation_id": ev.causation_id,
        "event_type": ev.event_type,
        "event_version": ev.event_version,
        "key": ev.key,
        "source": ev.source,
        "occurred_at": ev.occurred_at,
        "topic": d.topic,
        "partition": d.partition,
        "offset": d.offset,
        "model_calls": len(usages),
        "strategy": None,
        "provider": None,
        "model": None,
        "input_tokens": None,
        "output_tokens": None,
        "cost_usd": None,
        "latency_ms": None,
    }
    if usages:
        first = usages[0]
        row |= {
            "strategy": first.strategy[:64],
            "provider": first.provider,
            "model": (first.model or "")[:100] or None,
            "input_tokens": sum(u.input_tokens for u in usages),
            "output_tokens": sum(u.output_tokens for u in usages),
            "cost_usd": sum(u.cost_usd for u in usages),
            "latency_ms": sum(u.latency_ms for u in usages),
        }
    return row


class WorkflowsProjection(EventProjection):
    """Every event of every domain topic, one row each."""

    name = "workflows"
    tables = (WORKFLOW_EVENTS,)
    consumes = ()  # every type of the catalog: see consumed_types
    # Rows depend on one record each, and duplicates resolve the same way in any
    # order (the smallest log position wins): partitions may be folded in parallel.
    partition_local = True

    @cached_property
    def consumed_types(self) -> frozenset[str]:  # type: ignore[override]
        # saga-deadline-reached has no context of its own: it lives on its saga's topic
        return frozenset(s.event_type for s in CATALOG)

    def topics(self, names: TopicNames) -> list[str]:
        return sorted(names.all_domain())

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        rows: dict[uuid.UUID, dict[str, Any]] = {}
        for item in batch:
            row = row_of(item)
            seen = rows.get(row["event_id"])
            if seen is None or _position(row) < _position(seen):
                rows[row["event_id"]] = row
        if not rows:
            return
        stmt = insert(WORKFLOW_EVENTS).values(list(rows.values()))
        t, new = WORKFLOW_EVENTS.c, stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["event_id"],
            set_={name: getattr(new, name) for name in _COLUMNS if name != "event_id"},
            where=tuple_(new.topic, new.partition, new.offset)
            < tuple_(t.topic, t.partition, t.offset),
        )
        await conn.execute(stmt)


def _position(row: dict[str, Any]) -> tuple[str, int, int]:
    return (row["topic"], row["partition"], row["offset"])


# queries (the console reads through these) -----------------------------------------------
class StepView(BaseModel):
    """One event of a workflow, placed in causal order."""

    event_id: uuid.UUID
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    event_type: str
    event_version: int
    key: str
    source: str
    occurred_at: datetime
    topic: str
    partition: int
    offset: int
    model_calls: int
    strategy: str | None
    provider: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    depth: int = 0  # causal depth: 0 for a root, its cause's depth + 1 otherwise
    since_start_ms: float = 0.0  # since the workflow's first event
    since_cause_ms: float | None = None  # since the event that caused it (None: a root)
    orphan: bool = False  # its cause is not in the log (published elsewhere, or lost)


class WorkflowSummary(BaseModel):
    correlation_id: uuid.UUID
    first_type: str
    events: int
    started_at: datetime
    last_at: datetime
    model_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


def causal_order(steps: Iterable[StepView]) -> list[StepView]:
    """Every step after its cause: a depth-first walk from the roots, siblings by time.

    A root is an event without a cause, or whose cause is not among the steps
    (``orphan``). Timings are relative to the first event and to each cause.
    """
    items = list(steps)
    if not items:
        return []
    by_id = {s.event_id: s for s in items}
    children: dict[uuid.UUID | None, list[StepView]] = {}
    for s in items:
        parent = s.causation_id if s.causation_id in by_id else None
        children.setdefault(parent, []).append(s)
    for group in children.values():
        group.sort(key=lambda s: (s.occurred_at, s.topic, s.partition, s.offset, str(s.event_id)))
    start = min(s.occurred_at for s in items)
    out: list[StepView] = []
    stack: list[tuple[StepView, int, StepView | None]] = [
        (s, 0, None) for s in reversed(children.get(None, []))
    ]
    while stack:
        step, depth, cause = stack.pop()
        out.append(
            step.model_copy(
                update={
                    "depth": depth,
                    "since_start_ms": (step.occurred_at - start).total_seconds() * 1000,
                    "since_cause_ms": (step.occurred_at - cause.occurred_at).total_seconds() * 1000
                    if cause is not None
                    else None,
                    "orphan": cause is None and step.causation_id is not None,
                }
            )
        )
        stack.extend((c, depth + 1, step) for c in reversed(children.get(step.event_id, [])))
    return out


async def workflow_steps(conn: AsyncConnection, correlation_id: uuid.UUID) -> list[StepView]:
    """A workflow's events in causal order (empty when unknown)."""
    c = WORKFLOW_EVENTS.c
    rows = await conn.execute(select(WORKFLOW_EVENTS).where(c.correlation_id == correlation_id))
    return causal_order(StepView.model_validate(r._mapping) for r in rows)


async def recent_workflows(
    conn: AsyncConnection, *, limit: int = 20, min_events: int = 2
) -> list[WorkflowSummary]:
    """Workflows by their latest event, newest first; ``min_events`` leaves out single
    events (a seeded library position, an imported concept) unless it is 1."""
    c = WORKFLOW_EVENTS.c
    grouped = (
        select(
            c.correlation_id,
            func.count().label("events"),
            func.min(c.occurred_at).label("started_at"),
            func.max(c.occurred_at).label("last_at"),
            func.coalesce(func.sum(c.model_calls), 0).label("model_calls"),
            func.coalesce(func.sum(c.input_tokens), 0).label("input_tokens"),
            func.coalesce(func.sum(c.output_tokens), 0).label("output_tokens"),
            func.coalesce(func.sum(c.cost_usd), 0.0).label("cost_usd"),
        )
        .group_by(c.correlation_id)
        .having(func.count() >= min_events)
        .order_by(func.max(c.occurred_at).desc(), c.correlation_id)
        .limit(limit)
    )
    summaries = list(await conn.execute(grouped))
    if not summaries:
        return []
    ids = [r.correlation_id for r in summaries]
    firsts = await conn.execute(
        select(c.correlation_id, c.event_type)
        .where(c.correlation_id.in_(ids))
        .distinct(c.correlation_id)
        .order_by(c.correlation_id, c.occurred_at, c.topic, c.partition, c.offset)
    )
    first_of = {r.correlation_id: r.event_type for r in firsts}
    return [
        WorkflowSummary(first_type=first_of.get(r.correlation_id, "?"), **dict(r._mapping))
        for r in summaries
    ]
