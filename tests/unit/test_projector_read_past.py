"""A projector takes batches with nothing for its read model as read, without a
write, only while they follow on from the position it knows is stored."""

from __future__ import annotations

import time

import pytest
from aiokafka import TopicPartition

from events import encode
from projections.log_check import fingerprint_of
from projections.remediation import RemediationProjection
from projections.runner import READ_PAST_WRITE_S, Entry, Projector, ReadPast
from services.bus.consumer import Delivery
from services.settings import Settings
from tests.support.helpers import answer_event

pytestmark = pytest.mark.unit

TP = TopicPartition("nls.learning", 0)


def delivery(offset: int) -> Delivery:
    e = encode(answer_event(f"l{offset}"))
    return Delivery(TP.topic, 0, offset, e.key, e.value, tuple(e.headers))


def ignored(*offsets: int) -> dict[TopicPartition, list[Entry]]:
    return {TP: [Entry(delivery(o)) for o in offsets]}


def projector(stored: int | None = 10) -> Projector:
    p = Projector(RemediationProjection(), settings=Settings(), engine=None, publisher=None)  # type: ignore[arg-type]
    if stored is not None:
        p.stored[TP] = stored
    p._last_write = time.monotonic()
    return p


def test_ignored_batches_that_follow_the_stored_checkpoint_are_read_past() -> None:
    p = projector()
    assert p._read_without_write(ignored(10, 11, 12))
    batch = ignored(13, 14)
    assert p._read_without_write(batch)
    assert p.read_past[TP] == ReadPast(10, 15, fingerprint_of(batch[TP][-1].delivery))


def test_anything_to_apply_or_out_of_step_is_written() -> None:
    p = projector()
    answer = delivery(10)
    wanted = {TP: [Entry(answer, event=answer_event("x"))]}
    assert not p._read_without_write(wanted)
    dead = {TP: [Entry(answer, dead_kind="undecodable", dead_reason="bad bytes")]}
    assert not p._read_without_write(dead)
    assert not p._read_without_write(ignored(12, 13))  # a gap after the checkpoint
    assert not projector(stored=None)._read_without_write(ignored(0))  # position unknown
    assert not p.read_past


def test_a_second_without_a_write_forces_one() -> None:
    p = projector()
    p._last_write = time.monotonic() - READ_PAST_WRITE_S - 0.1
    assert not p._read_without_write(ignored(10))
