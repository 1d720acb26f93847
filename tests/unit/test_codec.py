"""Every event type survives encode -> bytes -> decode unchanged, headers included."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import CATALOG, Envelope, InvalidEvent, UndecodableEvent, decode, encode, header
from events.codec import loads
from tests.support.helpers import answer_event
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


def _with_answer(spelled: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """An encoded answer whose answer_given is ``spelled`` (JSON string contents)."""
    enc = encode(answer_event("ada", answer_given="@@"))
    return enc.value.replace(b'"@@"', b'"' + spelled + b'"'), enc.headers


@pytest.mark.parametrize("spelled", [rb"a\ud800", rb"\udfffb", rb"\ud83d", rb"x\ude00\ud83d"])
def test_a_lone_surrogate_escape_is_an_invalid_field_not_a_crash(spelled: bytes) -> None:
    # orjson (the general path) and pydantic's parser (the one-pass path) both
    # refuse such a document whole; decode names the field instead, alike on both
    value, headers = _with_answer(spelled)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(value)
    reasons = set()
    for hdrs in (headers, None):
        with pytest.raises(InvalidEvent) as caught:
            decode(value, headers=hdrs)
        assert caught.value.errors[0]["loc"] == ["payload", "answer_given"]
        assert "unpaired surrogate" in caught.value.reason
        reasons.add(caught.value.reason)
    assert len(reasons) == 1


def test_a_nul_escape_is_an_invalid_field() -> None:
    value, headers = _with_answer(rb"a\u0000b")
    for hdrs in (headers, None):
        with pytest.raises(InvalidEvent, match=r"payload\.answer_given: text contains NUL"):
            decode(value, headers=hdrs)


def test_a_surrogate_pair_escape_is_the_astral_character() -> None:
    value, headers = _with_answer(rb"\ud83d\ude00 ok")
    for hdrs in (headers, None):
        assert decode(value, headers=hdrs).payload.answer_given == "\U0001f600 ok"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "value",
    [
        b"{this is not json",
        b'{"a": NaN, "b": "\\ud800"}',  # NaN is not JSON, surrogate or not
        b'{"b": "\\ud800"',  # truncated
        b'{"b": "\xed\xa0\x80"}',  # a surrogate as raw (invalid) UTF-8
        b'{"b": "\\ud800", "b2": 1e999999}',
    ],
)
def test_what_is_not_json_stays_undecodable(value: bytes) -> None:
    for hdrs in ([("event_type", b"answer-submitted"), ("event_version", b"1")], None):
        with pytest.raises(UndecodableEvent, match="not JSON"):
            decode(value, headers=hdrs)


def test_loads_keeps_a_lone_surrogate_for_validation_to_name() -> None:
    assert loads(b'{"k": ["\\udc00"]}') == {"k": ["\udc00"]}
    assert loads(b'{"k": "\\ud83d\\ude00"}') == {"k": "\U0001f600"}
