"""Re-reading records a fetch skipped.

Our topics are neither compacted nor transactional, so a partition's offsets
are contiguous. Tansu, the embedded broker, sometimes serves a later record
batch before an earlier one that another producer was appending at the same
moment (seen in tools/bench: a consumer skipped 1-3 of 20,000 records), and a
consumer that trusts the fetch moves past the missing records for good. Each
reader therefore checks that every partition continues where it left off; on
a gap it keeps what came before, seeks back to the missing offset and reads
again. A gap that persists for ``patience_s`` is accepted with a warning (on a
real Kafka that means compaction or transaction markers, not a race).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import structlog
from aiokafka import TopicPartition

__all__ = ["GapGuard"]

log = structlog.get_logger(__name__)


class _HasOffset(Protocol):
    @property
    def offset(self) -> int: ...


R = TypeVar("R", bound=_HasOffset)


class GapGuard:
    def __init__(self, name: str, patience_s: float = 5.0) -> None:
        self.name = name
        self.patience_s = patience_s
        self.expected: dict[TopicPartition, int] = {}
        self._first_seen: dict[tuple[TopicPartition, int], float] = {}

    def expect(self, tp: TopicPartition, offset: int) -> None:
        """The next offset to read on ``tp`` (after an assignment or a seek)."""
        self.expected[tp] = offset

    def check(
        self, fetched: Mapping[TopicPartition, Sequence[R]], consumer: Any
    ) -> dict[TopicPartition, list[R]]:
        """The contiguous part of each partition's records; seeks ``consumer`` back on a gap."""
        out: dict[TopicPartition, list[R]] = {}
        now = time.monotonic()
        for tp, records in fetched.items():
            pos = self.expected.get(tp)
            kept: list[R] = []
            for r in records:
                if pos is not None and r.offset < pos:
                    continue  # already read before a seek back
                if pos is not None and r.offset > pos:
                    seen = self._first_seen.setdefault((tp, pos), now)
                    if now - seen < self.patience_s:
                        log.info(
                            "fetch.gap", reader=self.name, tp=str(tp), missing=pos, got=r.offset
                        )
                        consumer.seek(tp, pos)
                        break
                    log.warning(
                        "fetch.gap_accepted",
                        reader=self.name,
                        tp=str(tp),
                        missing=pos,
                        got=r.offset,
                    )
                if pos is not None:
                    self._first_seen.pop((tp, pos), None)
                kept.append(r)
                pos = r.offset + 1
            if pos is not None:
                self.expected[tp] = pos
            if kept:
                out[tp] = kept
        return out
