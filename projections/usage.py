"""generation_usage: one row per usage record carried by any event with generated content.

Every family's content events carry a ``GenerationUsage`` (strategy, provider,
model, prompt version, tokens, cost, latency, attempts, fallback reason); this
read model collects them from every domain topic, so cost and fallback rates
can be read per family, strategy and provider without knowing the families.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

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
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import CATALOG, TopicNames
from events.common import carries_usage, usages_of
from projections.base import Applied
from projections.db import METADATA

__all__ = ["GENERATION_USAGE", "UsageProjection"]

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


class UsageProjection:
    name = "generation_usage"
    decodes = True
    tables = (GENERATION_USAGE,)
    volatile_columns: frozenset[str] = frozenset()
    partition_local = True  # every row belongs to one event

    @cached_property
    def _types(self) -> frozenset[str]:
        return frozenset(s.event_type for s in CATALOG if carries_usage(s.payload))

    def topics(self, names: TopicNames) -> list[str]:
        return names.all_domain()

    def wants(self, event_type: str | None) -> bool:
        return event_type in self._types

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
