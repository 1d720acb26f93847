"""The corrections to faust's consumer and recovery (services/runtime/faust_transport.py).

Each defect lost records after a restart; the saga store's contract test shows it
end to end (tests/integration/test_saga_store_contract.py). These tests pin the
mechanism of each fix.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP

from services.runtime.faust_app import build_app
from services.runtime.faust_transport import SafeTableManager, _Consumer, _Recovery, _Thread
from services.settings import Settings

OPS = [TP("ops", 0), TP("ops", 1)]
CHANGELOG = TP("app-table-changelog", 0)


async def test_the_consumer_thread_fetches_with_a_copy_of_the_active_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Any] = []

    async def getmany(self: Any, active: Any, timeout: float) -> dict[TP, list[Any]]:
        seen.append(active)
        return {}

    monkeypatch.setattr(AIOKafkaConsumerThread, "getmany", getmany)
    thread = object.__new__(_Thread)
    live = set(OPS)
    await thread.getmany(live, 1.0)
    assert seen == [live] and seen[0] is not live  # faust's loop may change its own set meanwhile
    # An empty set means "every partition" to aiokafka: nothing is fetched instead.
    assert await thread.getmany(set(), 1.0) == {} and len(seen) == 1
    await thread.getmany(None, 1.0)  # a client-only app asks for every partition
    assert seen[-1] is None


async def test_partitions_never_committed_are_sought_to_their_first_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    committed = {OPS[0]: 7, OPS[1]: None, CHANGELOG: None}
    sought: list[dict[TP, int]] = []

    async def seek_to_committed(self: Any) -> dict[TP, Any]:
        return committed

    consumer: Any = object.__new__(_Consumer)
    consumer.app = SimpleNamespace(tables=SimpleNamespace(changelog_topics={CHANGELOG.topic}))

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        return {tp: 3 for tp in tps}

    async def seek_wait(offsets: dict[TP, int]) -> None:
        sought.append(offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "seek_to_committed", seek_to_committed)
    consumer.earliest_offsets = earliest_offsets
    consumer.seek_wait = seek_wait
    assert await consumer.seek_to_committed() == committed
    # the stream partition with no commit; not the one committed, not the changelog
    assert sought == [{OPS[1]: 3}]


async def test_streams_are_sought_and_the_queues_emptied_before_the_streams_resume() -> None:
    calls: list[str] = []

    async def perform_seek() -> None:
        calls.append("seek")

    async def maybe_start() -> None:
        calls.append("fetch")

    consumer = SimpleNamespace(
        assignment=lambda: {*OPS, CHANGELOG},
        perform_seek=perform_seek,
        resume_partitions=lambda tps: calls.append(f"resume {sorted(tps)}"),
        resume_flow=lambda: calls.append("flow"),
    )
    app = SimpleNamespace(
        consumer=consumer,
        consumer_generation_id=4,
        conf=SimpleNamespace(broker_request_timeout=1.0),
        flow_control=SimpleNamespace(resume=lambda: calls.append("empty queues")),
        _fetcher=SimpleNamespace(maybe_start=maybe_start),
        on_rebalance_end=lambda: calls.append("ready"),
    )
    recovery: Any = object.__new__(_Recovery)
    recovery.app = app
    recovery.tables = SimpleNamespace(
        changelog_topics={CHANGELOG.topic},
        on_actives_ready=lambda: None,
        on_standbys_ready=lambda: None,
    )
    recovery.completed = SimpleNamespace(set=lambda: None)
    recovery.log = SimpleNamespace(info=lambda *a: None, warning=lambda *a: None)

    async def wait(coro: Any, timeout: float | None = None) -> None:
        await coro

    recovery._wait = wait
    await recovery._resume(4, standbys_ready=True)
    assert calls == ["seek", "empty queues", f"resume {sorted(OPS)}", "flow", "fetch", "ready"]
    calls.clear()
    await recovery._resume(5, standbys_ready=True)  # another rebalance began: leave it to that
    assert calls == []


def test_every_faust_app_recovers_with_the_corrected_recovery() -> None:
    app = build_app(Settings(kafka_bootstrap_servers="127.0.0.1:9"), "recovery")
    assert isinstance(app.tables, SafeTableManager)
    assert isinstance(app.tables.recovery, _Recovery)
