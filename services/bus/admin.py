"""Topic administration: create what is missing at start-up."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from services.bus.security import client_security
from services.settings import Settings

__all__ = ["admin_config", "cluster_id", "ensure_topics", "wait_for_broker"]

log = structlog.get_logger(__name__)

# Domain topics are the source of truth: they never expire.
_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}


def admin_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """The admin client's settings (with the cluster's security)."""
    return {"bootstrap_servers": settings.bootstrap(), **client_security(settings), **overrides}


async def wait_for_broker(
    bootstrap: str, timeout_s: float = 30.0, *, settings: Settings | None = None
) -> None:
    """Return once the broker answers metadata requests (through ``settings``' security
    when given; plaintext otherwise)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    security = client_security(settings) if settings is not None else {}
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=3000, **security
        )
        try:
            await admin.start()
            await admin.list_topics()
            return
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
        finally:
            await admin.close()


async def ensure_topics(settings: Settings, extra: list[str] | None = None) -> list[str]:
    """Create every domain and DLQ topic (and ``extra``) that does not exist yet.

    Returns the names created.
    """
    names = settings.topics()
    wanted = names.all_domain() + names.all_dlq() + list(extra or [])
    admin = AIOKafkaAdminClient(**admin_config(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return []
        new = [
            NewTopic(
                t,
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication,
                topic_configs=_FOREVER,
            )
            for t in missing
        ]
        with contextlib.suppress(TopicAlreadyExistsError):  # another worker won the race
            await admin.create_topics(new)
        log.info("topics.created", topics=missing, partitions=settings.topic_partitions)
        return missing
    finally:
        await admin.close()


async def cluster_id(settings: Settings) -> str | None:
    """The broker cluster's id: which log the offsets we keep belong to.

    A restarted embedded broker gets a new one (tools/devstack/broker.py), as
    does a replaced cluster; None when the broker does not say.
    """
    admin = AIOKafkaAdminClient(**admin_config(settings))
    await admin.start()
    try:
        described = await admin.describe_cluster()
    finally:
        await admin.close()
    found = described.get("cluster_id")
    return str(found) if found else None
