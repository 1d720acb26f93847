"""The saga store's contract over the in-memory fake and a real faust table.

The same operations (put, get, items; overwrite; a missing key) run on both; the real
table runs in a faust worker (tests/support/store_worker.py), the only place faust
lets a table be written, and must answer exactly what the fake answers, also after
the worker was killed and its table rebuilt from the changelog.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.runtime.saga import InMemorySagaStore, Stored, encode_stored
from services.settings import Settings
from tests.conftest import PYTHON, ROOT, child_env
from tests.support.fanin import FanInState
from tests.support.helpers import read_topic, wait_until
from tests.support.store_worker import apply_op

pytestmark = pytest.mark.integration


def stored(key: str, total: int, offset: int) -> dict[str, Any]:
    state = FanInState(
        instance_id=key, correlation_id=uuid.uuid4(), artifact_id=uuid.uuid4(), total=total
    )
    return encode_stored(Stored(state, offset))


def script() -> list[dict[str, Any]]:
    a1, a2, b = stored("a", 3, 5), stored("a", 4, 9), stored("b", 2, 1)
    return [
        {"op": "get", "key": "a"},
        {"op": "put", "key": "a", "stored": a1},
        {"op": "get", "key": "a"},
        {"op": "put", "key": "b", "stored": b},
        {"op": "put", "key": "a", "stored": a2},
        {"op": "get", "key": "a"},
        {"op": "items", "key": "a"},
        {"op": "get", "key": "nobody"},
    ]


def expected(ops: list[dict[str, Any]]) -> list[Any]:
    fake = InMemorySagaStore(FanInState)
    return [orjson.loads(orjson.dumps(apply_op(fake, op))) for op in ops]


def worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "-m", "tests.support.store_worker"],
        env=child_env(settings),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def send(settings: Settings, ops: list[dict[str, Any]], first_seq: int) -> None:
    async with EventPublisher(settings, client_id="contract") as pub:
        for seq, op in enumerate(ops, start=first_seq):
            body = orjson.dumps({**op, "seq": seq})
            await pub.send_raw(f"{settings.topic_prefix}.store-ops", op["key"].encode(), body, [])


async def results(settings: Settings, count: int, log: Path) -> list[Any]:
    topic = f"{settings.topic_prefix}.store-results"

    async def read() -> list[dict[str, Any]]:
        try:
            records = await read_topic(settings, topic, timeout=20)
        except RuntimeError:  # not created yet
            return []
        return [orjson.loads(r.value) for r in records]

    def answered(rs: list[dict[str, Any]]) -> bool:
        return {r["seq"] for r in rs} >= set(range(count))

    try:
        got = await wait_until(read, answered, timeout=120, what="results")
    except AssertionError as exc:
        tail = (await asyncio.to_thread(log.read_text))[-3000:]
        raise AssertionError(f"{exc}\nworker log:\n{tail}") from None
    # A restarted worker may run operations again (at least once): the last answer counts.
    latest = {r["seq"]: r["result"] for r in got}
    return [latest[seq] for seq in range(count)]


async def test_a_faust_table_answers_what_the_fake_answers(
    settings: Settings, tmp_path: Path
) -> None:
    ops = script()
    await ensure_topics(
        settings, [f"{settings.topic_prefix}.store-ops", f"{settings.topic_prefix}.store-results"]
    )
    log = tmp_path / "worker.log"
    first = worker(settings, log)
    try:
        await send(settings, ops, 0)
        assert await results(settings, len(ops), log) == expected(ops), log.read_text()[-2000:]
        first.kill()  # the table must come back from its changelog
        first.wait()
        second = worker(settings, log)
        try:
            again = [{"op": "get", "key": "a"}, {"op": "items", "key": "b"}]
            await send(settings, again, len(ops))
            got = (await results(settings, len(ops) + len(again), log))[len(ops) :]
            assert got == expected([*ops, *again])[len(ops) :], log.read_text()[-2000:]
        finally:
            second.terminate()
            second.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
