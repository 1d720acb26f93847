"""Every event type survives encode -> bytes -> decode unchanged, headers included."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import CATALOG, Envelope, decode, encode, header
from tests.support.strategies import STRATEGIES, envelopes

pytestmark = pytest.mark.unit


def test_every_catalog_type_has_a_strategy() -> None:
    assert {s.event_type for s in CATALOG} == set(STRATEGIES)


@pytest.mark.parametrize("event_type", sorted(STRATEGIES))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(event_type: str, data: st.DataObject) -> None:
    env: Envelope = data.draw(envelopes(event_type))
    enc = encode(env)
    assert decode(enc.value) == env
    assert enc.key == env.key.encode()
    assert header(enc.headers, "event_type") == event_type
    assert header(enc.headers, "event_version") == str(env.event_version)
    assert header(enc.headers, "content-type") == "application/json"
    # The value is plain JSON that other languages can read.
    raw = orjson.loads(enc.value)
    assert raw["event_type"] == event_type and raw["payload"]


@settings(max_examples=20)
@given(answer=STRATEGIES["answer-submitted"], diag=STRATEGIES["failure-diagnosed"])
def test_derived_events_have_deterministic_ids(answer: Any, diag: Any) -> None:
    parent = Envelope.new(answer, source="t")
    a = parent.derive(diag, role="diagnosis", source="x")
    b = parent.derive(diag, role="diagnosis", source="x")
    assert a.event_id == b.event_id
    assert a.causation_id == parent.event_id and a.correlation_id == parent.correlation_id
    assert parent.derive(diag, role="other", source="x").event_id != a.event_id
