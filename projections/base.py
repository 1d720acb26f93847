"""The projection contract and the checkpoint table shared by all projectors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Protocol

from sqlalchemy import BigInteger, Column, Integer, String, Table, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import CATALOG, Envelope, Payload, TopicNames
from projections.db import METADATA, driver, qualified
from services.bus.consumer import Delivery
from services.settings import Latency

__all__ = [
    "CHECKPOINTS",
    "Applied",
    "BulkFold",
    "Checkpoint",
    "EventProjection",
    "Projection",
    "begin_fold",
    "checkpoint_positions",
    "insert_ignore",
    "load_checkpoints",
    "lock_projection",
    "save_checkpoints",
]

# next_offset: the first offset not yet applied, per (projection, topic, partition).
# log_id and last_fingerprint say which log the offsets belong to: the broker's
# cluster id, and a fingerprint of the record at next_offset - 1 (see log_check).
CHECKPOINTS = Table(
    "projection_checkpoints",
    METADATA,
    Column("projection", String(100), primary_key=True),
    Column("topic", String(255), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("log_id", String(255)),
    Column("last_fingerprint", BigInteger),
)
# Columns added after the first release, for databases created before them.
CHECKPOINT_UPGRADES = {"log_id": "varchar(255)", "last_fingerprint": "bigint"}


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a projection stands on one partition, and which log that position is in."""

    next_offset: int
    log_id: str | None = None
    last_fingerprint: int | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """A record to fold: the delivery and, for projections that decode, its event."""

    delivery: Delivery
    event: Envelope | None

    @property
    def envelope(self) -> Envelope:
        if self.event is None:
            raise ValueError("this projection reads raw records")
        return self.event


class Projection(Protocol):
    """Folds events into read-model tables.

    ``apply`` runs inside the projector's transaction, beside the checkpoint
    update; it must tolerate an event_id it has already seen (a duplicate
    published twice) and depend on nothing but the events, so a replay gives
    the same rows.
    """

    @property
    def name(self) -> str: ...

    @property
    def decodes(self) -> bool:
        """False: the projection gets raw records (dead letters)."""

    @property
    def tables(self) -> Sequence[Table]: ...

    @property
    def volatile_columns(self) -> frozenset[str]:
        """Columns left out of checksums (e.g. projected_at)."""

    @property
    def latency(self) -> Latency:
        """Who waits on its rows: its consumer's fetch wait (Settings.fetch_wait_ms)."""

    @property
    def partition_local(self) -> bool:
        """True when no row depends on events of two partitions (rebuilds may run
        partitions in parallel)."""

    def topics(self, names: TopicNames) -> list[str]: ...

    def wants(self, event_type: str | None) -> bool: ...

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None: ...


class BulkFold(Protocol):
    """How a projection is rebuilt fast: rows for COPY into fresh tables, from the events
    of a group of partitions in log order (``add``), and what remains at the end
    (``finish``). A projection offers it with ``bulk()``."""

    def add(self, events: Sequence[Envelope]) -> dict[Table, list[tuple[Any, ...]]]: ...

    def finish(self) -> dict[Table, list[tuple[Any, ...]]]: ...


class EventProjection(ABC):
    """The common header of a projection that folds decoded events.

    A subclass names itself, its tables and the event classes it folds
    (``consumes``); its topics and the types it wants follow from those.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    consumes: ClassVar[tuple[type[Payload], ...]]
    decodes: ClassVar[bool] = True
    volatile_columns: ClassVar[frozenset[str]] = frozenset()
    # True when no row depends on events of two partitions (rebuilds may then
    # fold partitions in parallel); every projection keyed by its aggregate is.
    partition_local: ClassVar[bool] = True
    latency: ClassVar[Latency] = Latency.BULK

    @cached_property
    def consumed_types(self) -> frozenset[str]:
        return frozenset(c.event_type for c in self.consumes)

    def topics(self, names: TopicNames) -> list[str]:
        contexts = {CATALOG.spec(t).context for t in self.consumed_types}
        return sorted(names.domain(c) for c in contexts if c is not None)

    def wants(self, event_type: str | None) -> bool:
        return event_type in self.consumed_types

    @abstractmethod
    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None: ...


async def insert_ignore(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows; a row whose key is already there (a redelivered event) changes nothing."""
    if rows:
        await conn.execute(insert(table).values(list(rows)).on_conflict_do_nothing())


async def load_checkpoints(
    conn: AsyncConnection, projection: str
) -> dict[tuple[str, int], Checkpoint]:
    # On the driver: every fold reads and writes its checkpoints, and the SQL layer
    # cost more than the round trip itself (a fold of one event took 4 ms).
    pg = await driver(conn)
    rows = await pg.fetch(
        "SELECT topic, partition, next_offset, log_id, last_fingerprint "
        f"FROM {qualified(conn, CHECKPOINTS)} WHERE projection = $1",
        projection,
    )
    return {(r[0], r[1]): Checkpoint(r[2], r[3], r[4]) for r in rows}


async def save_checkpoints(
    conn: AsyncConnection, projection: str, checkpoints: dict[tuple[str, int], Checkpoint]
) -> None:
    if not checkpoints:
        return
    pg = await driver(conn)
    await pg.execute(
        f"INSERT INTO {qualified(conn, CHECKPOINTS)} "
        "(projection, topic, partition, next_offset, log_id, last_fingerprint) "
        "SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[], $6::bigint[]) "
        "ON CONFLICT (projection, topic, partition) DO UPDATE SET "
        "next_offset = EXCLUDED.next_offset, log_id = EXCLUDED.log_id, "
        "last_fingerprint = EXCLUDED.last_fingerprint",
        projection,
        [t for t, _ in checkpoints],
        [p for _, p in checkpoints],
        [cp.next_offset for cp in checkpoints.values()],
        [cp.log_id for cp in checkpoints.values()],
        [cp.last_fingerprint for cp in checkpoints.values()],
    )


async def checkpoint_positions(conn: AsyncConnection) -> dict[tuple[str, str, int], int]:
    """Every projection's position: (projection, topic, partition) -> next offset."""
    c = CHECKPOINTS.c
    rows = await conn.execute(select(c.projection, c.topic, c.partition, c.next_offset))
    return {(p, t, part): int(o) for p, t, part, o in rows}


async def lock_projection(conn: AsyncConnection, schema: str, projection: Projection) -> None:
    """Serialise writers of one projection in one schema (folds and the swap)."""
    key = _writer_key(schema, projection)
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def _writer_key(schema: str, projection: Projection) -> str:
    return f"{schema}.{projection.name}"


async def begin_fold(
    conn: AsyncConnection, schema: str, projection: Projection, lock: bool
) -> None:
    """A fold's first statement: commit without waiting for the disk (safe for read
    models: rows and checkpoint commit or vanish together, and what a crash loses is
    read again from the log), and, with ``lock``, the projection's writer lock."""
    if lock:
        await conn.execute(
            text(
                "SELECT set_config('synchronous_commit', 'off', true), "
                "pg_advisory_xact_lock(hashtext(:k))"
            ),
            {"k": _writer_key(schema, projection)},
        )
    else:
        await conn.execute(text("SET LOCAL synchronous_commit = off"))
