"""faust-streaming's consumer and table recovery, with four defects corrected.

Each was seen in the saga store's contract test, where a worker killed before
its first commit is restarted and must rebuild its table and read every
operation again; faust lost or skipped operations, and so lost puts.

1. faust fixes the consumer's fetch wait at 1.5 s. Kafka and Redpanda answer a
   waiting fetch as soon as data arrives, but the embedded Tansu broker holds it
   for the whole wait, which put ~450 ms (p50) on every hop through a faust agent.
   The consumer thread gives its fetcher our wait instead.

2. faust hands its consumer thread the live set of active partitions, which its
   event loop changes while the thread waits for records (it pauses the
   changelogs after a recovery, and clears the set before refilling it). Seen
   empty from the thread, the set means "every partition" to aiokafka, which
   then returned the paused streams' records, and faust dropped them as not
   active: they were never read again. The thread gets a copy, taken when the
   fetch starts.

3. After a rebalance, faust resumes the stream partitions, then seeks them to
   their committed offsets, then resumes its flow control, which empties every
   agent's queue: a record fetched while the seek was awaited was emptied out.
   Here the streams are sought while still paused, the queues emptied, and only
   then the streams resumed.

4. aiokafka seeks only the partitions with a committed offset above 0. A
   partition the group never committed kept whatever position the fetcher had
   reached during recovery. Such partitions are sought to their first offset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.transport.drivers.aiokafka import Transport as AIOKafkaTransport
from faust.types import TP

__all__ = ["SafeTableManager", "Transport"]


class _Thread(AIOKafkaConsumerThread):  # type: ignore[misc]
    def _create_worker_consumer(self, transport: Any) -> Any:
        # The consumer is not started yet here, so its fetcher takes our wait.
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.app.conf.nls_fetch_max_wait_ms
        return consumer

    async def getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        if active_partitions is not None:
            active_partitions = set(active_partitions)
            if not active_partitions:
                return {}
        return await super().getmany(active_partitions, timeout)


class _Consumer(AIOKafkaConsumer):  # type: ignore[misc]
    def _new_consumer_thread(self) -> _Thread:
        return _Thread(self, loop=self.loop, beacon=self.beacon)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await super().seek_to_committed()
        fresh = [tp for tp, at in committed.items() if not at and not self._is_changelog_tp(tp)]
        if fresh:
            first = await self.earliest_offsets(*fresh)
            await self.seek_wait({tp: first.get(tp) or 0 for tp in fresh})
        return committed


class Transport(AIOKafkaTransport):  # type: ignore[misc]
    Consumer = _Consumer


class _Recovery(Recovery):  # type: ignore[misc]
    async def _resume_streams(self, generation_id: int = 0) -> None:
        # faust's path when the app has no tables
        await self.app.on_rebalance_complete.send()
        await self._resume(generation_id, standbys_ready=True)

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        done = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if done:
            await asyncio.wait(done)
        await self._resume(generation_id, standbys_ready=not self.app.assignor.assigned_standbys())

    async def _resume(self, generation_id: int, *, standbys_ready: bool) -> None:
        app = self.app
        consumer = app.consumer
        if app.consumer_generation_id != generation_id:
            self.log.warning("Recovery rebalancing again")
            return
        streams = {tp for tp in consumer.assignment() if not self._is_changelog_tp(tp)}
        if streams:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
        self.completed.set()
        app.flow_control.resume()  # empties the agents' queues, where no stream record is yet
        consumer.resume_partitions(streams)
        consumer.resume_flow()
        await app._fetcher.maybe_start()  # type: ignore[attr-defined]
        self.tables.on_actives_ready()
        if standbys_ready:
            self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")


class SafeTableManager(TableManager):  # type: ignore[misc]
    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = _Recovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
