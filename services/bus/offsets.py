"""Where each partition's log really ends.

Tansu (the embedded broker) reports a partition's high watermark as the base
offset of the last record batch + 1, which is short of the end whenever that
batch holds several records. Reading the last batch finds the true end; on a
correct broker the probe just confirms the high watermark.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

__all__ = ["log_end_offsets"]


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
