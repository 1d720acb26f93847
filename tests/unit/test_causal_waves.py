"""An effect published with its cause on another partition goes out once the cause
is acknowledged; on the same partition, order alone keeps it behind its cause."""

from __future__ import annotations

import pytest

from services.bus.producer import causal_waves
from tests.support.helpers import answer_event

pytestmark = pytest.mark.unit

A, B = ("learning", 0), ("content", 1)


def test_effects_on_other_partitions_wait_for_their_causes() -> None:
    answer = answer_event("ada")
    diagnosis = answer.derive(answer.payload, role="diagnosis", source="t")
    plan = diagnosis.derive(answer.payload, role="plan", source="t")
    unrelated = answer_event("bob")
    events = [answer, diagnosis, plan, unrelated]
    assert causal_waves(events, [A, B, A, B]) == [0, 1, 2, 0]
    assert causal_waves(events, [A, A, A, B]) == [0, 0, 0, 0]
    assert causal_waves(events, [A, A, B, B]) == [0, 0, 1, 0]


def test_a_cause_outside_the_call_holds_nothing_back() -> None:
    answer = answer_event("ada")
    diagnoses = [answer.derive(answer.payload, role=f"d{i}", source="t") for i in range(3)]
    assert causal_waves(diagnoses, [A, B, A]) == [0, 0, 0]
