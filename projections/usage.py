"""generation_usage: one row per usage record carried by any event with generated content.

Every family's content events carry a ``GenerationUsage`` (strategy, provider,
model, prompt version, tokens, cost, latency, attempts, fallback reason); this
read model collects them from every domain topic, so cost and fallback rates
can be read per family, strategy and provider without knowing the families.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cached_property

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    case,
    cast,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import CATALOG
from events.common import carries_usage, usages_of
from projections.base import Applied, EventProjection
from projections.db import METADATA

__all__ = [
    "GENERATION_USAGE",
    "UsageProjection",
    "UsageStatsView",
    "usage_stats",
]

GENERATION_USAGE = Table(
    "generation_usage",
    METADATA,
    Column("event_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),  # position among the event's usage records
    Column("event_type", String(100), nullable=False),
    Column("correlation_id", Uuid, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("family", String(64), nullable=False),
    Column("task", String(100)),
    Column("strategy", String(64), nullable=False),
    Column("fallback_from", String(64)),
    Column("fallback_reason", Text),
    Column("provider", String(32)),
    Column("model", String(100)),
    Column("prompt_version", String(100)),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Index("generation_usage_family_idx", "family", "strategy", "provider"),
    Index("generation_usage_time_idx", "occurred_at"),
)


class UsageProjection(EventProjection):
    """Every event that carries usage, whichever family produced it."""

    name = "generation_usage"
    tables = (GENERATION_USAGE,)
    consumes = ()  # every type that carries usage: see consumed_types

    @cached_property
    def consumed_types(self) -> frozenset[str]:
        return frozenset(s.event_type for s in CATALOG if carries_usage(s.payload))

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        rows = []
        for item in batch:
            ev = item.envelope
            family_default = ev.payload.event_context or "unknown"
            for seq, u in enumerate(usages_of(ev.payload)):
                rows.append(
                    {
                        "event_id": ev.event_id,
                        "seq": seq,
                        "event_type": ev.event_type,
                        "correlation_id": ev.correlation_id,
                        "occurred_at": ev.occurred_at,
                        "family": u.family or str(family_default),
                        "task": u.task,
                        "strategy": u.strategy,
                        "fallback_from": u.fallback_from,
                        "fallback_reason": u.fallback_reason,
                        "provider": u.provider,
                        "model": u.model,
                        "prompt_version": u.prompt_version,
                        "input_tokens": u.input_tokens,
                        "output_tokens": u.output_tokens,
                        "cached_tokens": u.cached_tokens,
                        "cost_usd": u.cost_usd,
                        "latency_ms": u.latency_ms,
                        "attempts": u.attempts,
                    }
                )
        if rows:
            await conn.execute(insert(GENERATION_USAGE).on_conflict_do_nothing(), rows)


# queries (the API and the CLI read through these) ----------------------------------
class UsageStatsView(BaseModel):
    """Generation calls of one family, strategy and provider; fallbacks count under the
    strategy that failed (``fallback_from``)."""

    family: str
    strategy: str
    provider: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float
    latency_p50_ms: float
    latency_p95_ms: float
    fallback_rate: float


async def usage_stats(
    conn: AsyncConnection, *, family: str | None = None, since: datetime | None = None
) -> list[UsageStatsView]:
    c = GENERATION_USAGE.c
    strategy = func.coalesce(c.fallback_from, c.strategy).label("strategy")
    stmt = (
        select(
            c.family,
            strategy,
            c.provider,
            func.count().label("calls"),
            func.sum(c.input_tokens).label("input_tokens"),
            func.sum(c.output_tokens).label("output_tokens"),
            func.sum(c.cached_tokens).label("cached_tokens"),
            func.sum(c.cost_usd).label("cost_usd"),
            func.percentile_cont(0.5).within_group(c.latency_ms).label("latency_p50_ms"),
            func.percentile_cont(0.95).within_group(c.latency_ms).label("latency_p95_ms"),
            func.avg(cast(case((c.fallback_from.is_not(None), 1), else_=0), Float)).label(
                "fallback_rate"
            ),
        )
        .group_by(c.family, strategy, c.provider)
        .order_by(c.family, strategy, c.provider)
    )
    if family is not None:
        stmt = stmt.where(c.family == family)
    if since is not None:
        stmt = stmt.where(c.occurred_at >= since)
    return [UsageStatsView.model_validate(r._mapping) for r in await conn.execute(stmt)]
