"""Where each partition's log really ends.

Tansu (the embedded broker) reports a partition's high watermark as the base
offset of the last record batch + 1, which is short of the end whenever that
batch holds several records. Reading the last batch finds the true end; on a
correct broker the probe just confirms the high watermark.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

__all__ = ["log_end_offsets", "records_at"]


async def log_end_offsets(
    reader: AIOKafkaConsumer, tps: list[TopicPartition], timeout_s: float = 2.0
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition.

    ``reader`` must be a consumer without a group; its assignment is replaced.
    """
    ends: dict[TopicPartition, int] = dict(await reader.end_offsets(tps))
    probe = [tp for tp, hw in ends.items() if hw > 0]
    if not probe:
        return ends
    reader.assign(probe)
    for tp in probe:
        reader.seek(tp, ends[tp] - 1)
    pending = set(probe)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while pending and asyncio.get_running_loop().time() < deadline:
        fetched = await reader.getmany(*pending, timeout_ms=200)
        for tp, records in fetched.items():
            if records:
                ends[tp] = max(ends[tp], records[-1].offset + 1)
                pending.discard(tp)
    return ends


async def records_at(
    reader: AIOKafkaConsumer, wanted: dict[TopicPartition, int], timeout_s: float = 2.0
) -> dict[TopicPartition, Any]:
    """The record at the given offset of each partition (absent when not read in time).

    ``reader`` must be a consumer without a group; its assignment is replaced.
    """
    found: dict[TopicPartition, Any] = {}
    if not wanted:
        return found
    reader.assign(list(wanted))
    for tp, offset in wanted.items():
        reader.seek(tp, offset)
    pending = set(wanted)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while pending and asyncio.get_running_loop().time() < deadline:
        fetched = await reader.getmany(*pending, timeout_ms=200)
        for tp, records in fetched.items():
            hit = next((r for r in records if r.offset == wanted[tp]), None)
            if hit is not None:
                found[tp] = hit
                pending.discard(tp)
            elif records and records[0].offset > wanted[tp]:
                pending.discard(tp)  # the offset is not in the log (any more)
    return found
