"""A restarted broker is a new log: the read models follow it instead of skipping it.

The scenario of issue 10: a demo-like run fills the read models, the embedded
broker restarts (a new, empty, in-memory log on the same address), a learning
app publishes again, and the new rows must be there, with a warning that says
why the read model was folded again.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from projections.db import make_engine
from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.settings import Settings
from tests.conftest import make_settings
from tests.support.helpers import answer_event, background, count_rows, wait_until
from tests.support.platform import agent, projector
from tools.devstack.broker import EmbeddedBroker, free_port
from tools.devstack.provision import BrokerInfo, DatabaseInfo

pytestmark = pytest.mark.integration


async def _run_until(settings: Settings, engine: AsyncEngine, attempts: int) -> None:
    async with background(
        agent(settings, "diagnoser"),
        projector(settings, "learning"),
    ):
        await wait_until(
            lambda: count_rows(engine, "attempts"),
            lambda n: n == attempts,
            timeout=60,
            what=f"{attempts} attempts",
        )
        await wait_until(
            lambda: count_rows(engine, "diagnoses"),
            lambda n: n == attempts,
            timeout=60,
            what=f"{attempts} diagnoses",
        )


async def test_a_restarted_broker_is_folded_again_not_skipped(postgres: DatabaseInfo) -> None:
    port = free_port()
    first = EmbeddedBroker(port).start()
    settings = make_settings(BrokerInfo(first.bootstrap, "tansu", "test"), postgres)
    engine = make_engine(settings)
    try:
        await ensure_topics(settings)
        before = [answer_event(f"old{i % 4}", rt=6000 + i) for i in range(40)]
        async with EventPublisher(settings) as pub:
            await pub.publish(before)
        await _run_until(settings, engine, attempts=40)

        first.stop()
        second = EmbeddedBroker(port).start()  # same address, new empty log
        try:
            await ensure_topics(settings)
            after = [answer_event("kafkajs-learner", question_id=f"q{i}") for i in range(3)]
            async with EventPublisher(settings) as pub:
                await pub.publish(after)
            with capture_logs() as logs:
                await _run_until(settings, engine, attempts=3)
            rows = await count_rows(engine, "attempts", "WHERE learner_id = 'kafkajs-learner'")
            assert rows == 3
            assert await count_rows(engine, "attempts", "WHERE learner_id LIKE 'old%'") == 0
            changed = [e for e in logs if e["event"] == "projection.log_changed"]
            assert changed and changed[0]["projection"] == "learning"
            assert "cluster id" in changed[0]["reason"]
        finally:
            second.stop()
    finally:
        await engine.dispose()
        first.stop()


async def test_same_cluster_id_new_log_is_caught_by_the_records(postgres: DatabaseInfo) -> None:
    """A recreated topic on the same cluster: the offsets and records tell."""
    port = free_port()
    cluster = f"fixed-{uuid.uuid4().hex[:6]}"
    first = EmbeddedBroker(port, cluster_id=cluster).start()
    settings = make_settings(BrokerInfo(first.bootstrap, "tansu", "test"), postgres)
    engine = make_engine(settings)
    try:
        await ensure_topics(settings)
        async with EventPublisher(settings) as pub:
            await pub.publish([answer_event(f"old{i % 4}") for i in range(12)])
        await _run_until(settings, engine, attempts=12)
        first.stop()
        second = EmbeddedBroker(port, cluster_id=cluster).start()
        try:
            await ensure_topics(settings)
            # More events than before on every partition: offsets alone would look fine.
            fresh = [answer_event(f"new{i % 4}", question_id=f"n{i}") for i in range(30)]
            async with EventPublisher(settings) as pub:
                await pub.publish(fresh)
            with capture_logs() as logs:
                await _run_until(settings, engine, attempts=30)
            assert await count_rows(engine, "attempts", "WHERE learner_id LIKE 'new%'") == 30
            assert any(e["event"] == "projection.log_changed" for e in logs)
        finally:
            second.stop()
    finally:
        await engine.dispose()
        first.stop()
