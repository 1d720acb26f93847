"""A fetch that skips records is read again from the missing offset."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from aiokafka import TopicPartition

from services.bus.gaps import GapGuard

pytestmark = pytest.mark.unit

TP = TopicPartition("t", 0)


@dataclass
class Rec:
    offset: int


class FakeConsumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, int]] = []

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


def recs(*offsets: int) -> list[Rec]:
    return [Rec(o) for o in offsets]


def test_contiguous_records_pass() -> None:
    guard, consumer = GapGuard("t"), FakeConsumer()
    guard.expect(TP, 10)
    assert guard.check({TP: recs(10, 11, 12)}, consumer) == {TP: recs(10, 11, 12)}
    assert guard.expected[TP] == 13 and consumer.seeks == []


def test_a_gap_keeps_what_came_before_and_seeks_back() -> None:
    guard, consumer = GapGuard("t"), FakeConsumer()
    guard.expect(TP, 10)
    assert guard.check({TP: recs(10, 11, 14, 15)}, consumer) == {TP: recs(10, 11)}
    assert consumer.seeks == [(TP, 12)] and guard.expected[TP] == 12
    # The re-read brings the missing records; what was already read is dropped.
    assert guard.check({TP: recs(11, 12, 13, 14)}, consumer) == {TP: recs(12, 13, 14)}
    assert guard.expected[TP] == 15


def test_a_gap_at_the_start_of_a_batch() -> None:
    guard, consumer = GapGuard("t"), FakeConsumer()
    guard.expect(TP, 0)
    assert guard.check({TP: recs(3, 4)}, consumer) == {}
    assert consumer.seeks == [(TP, 0)]


def test_a_persistent_gap_is_accepted_after_the_patience() -> None:
    guard, consumer = GapGuard("t", patience_s=0.0), FakeConsumer()
    guard.expect(TP, 5)
    assert guard.check({TP: recs(7, 8)}, consumer) == {TP: recs(7, 8)}
    assert consumer.seeks == []


def test_unknown_start_takes_the_first_record() -> None:
    guard, consumer = GapGuard("t"), FakeConsumer()
    assert guard.check({TP: recs(40, 41)}, consumer) == {TP: recs(40, 41)}
    assert guard.expected[TP] == 42
