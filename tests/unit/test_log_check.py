"""Which log checkpoints belong to: the pure judgement."""

from __future__ import annotations

from aiokafka import TopicPartition

from projections.base import Checkpoint
from projections.log_check import LogFacts, fingerprint, judge


def test_judge_says_why_checkpoints_do_not_belong_to_the_log() -> None:
    tp = TopicPartition("nls.learning", 0)
    cp = Checkpoint(10, "cluster-a", 1234)
    assert judge({tp: cp}, LogFacts("cluster-a", {tp: 10}, {tp: 1234})) is None
    assert "cluster id" in (judge({tp: cp}, LogFacts("cluster-b", {tp: 10}, {tp: 1234})) or "")
    assert "beyond the log end" in (judge({tp: cp}, LogFacts("cluster-a", {tp: 3}, {})) or "")
    assert "not the one" in (judge({tp: cp}, LogFacts("cluster-a", {tp: 20}, {tp: 99})) or "")
    # Checkpoints from before log ids were recorded: only the offsets can tell.
    legacy = Checkpoint(10)
    assert judge({tp: legacy}, LogFacts("cluster-a", {tp: 12}, {tp: 5})) is None


def test_fingerprint_tells_key_and_value_apart() -> None:
    assert fingerprint(b"a", b"bc") != fingerprint(b"ab", b"c")
    assert fingerprint(None, b"x") != fingerprint(b"", b"x")
    assert fingerprint(b"k", b"v") == fingerprint(b"k", b"v")


def test_a_record_that_cannot_be_read_is_not_taken_on_trust() -> None:
    tp = TopicPartition("nls.learning", 0)
    cp = Checkpoint(10, "cluster-a", 1234)
    facts = LogFacts("cluster-a", {tp: 20}, {}, frozenset({tp}))
    assert "could not be read" in (judge({tp: cp}, facts) or "")
