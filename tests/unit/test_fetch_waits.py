"""How long each consumer's idle fetch waits.

On the embedded Tansu broker a fetch answers only at the broker's next look at the
log, so the wait is each hop's latency floor: the consumers a learner waits on for
each event fetch with the shortest wait, those a learner waits on that take every
answer with a longer one (under load it sets their batch size), the rest with a
long one. Kafka and Redpanda answer as soon as data arrives, so there every wait
is the client's usual 500 ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from services.bootstrap import bootstrap
from services.bus.consumer import consumer_config
from services.runtime.faust_app import build_app
from services.settings import Latency, Settings

# The learner-facing path: answer -> diagnosis -> plan (-> JIT atoms), and today's
# strength session; the diagnoser and the learning read model take every answer.
STREAM_AGENTS = {"diagnoser"}
INTERACTIVE_AGENTS = {"remediation", "jit", "training-jit"}
STREAM_READ_MODELS = {"learning"}
INTERACTIVE_READ_MODELS = {"remediation", "training"}

TANSU_WAITS = {Latency.BULK: 250, Latency.STREAM: 20, Latency.INTERACTIVE: 5}


def settings(**values: object) -> Settings:
    return Settings(kafka_bootstrap_servers="127.0.0.1:9092", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("latency", list(Latency))
def test_defaults_follow_the_broker(latency: Latency) -> None:
    tansu, kafka = settings(broker_flavour="tansu"), settings(broker_flavour="kafka")
    assert tansu.fetch_wait_ms(latency) == TANSU_WAITS[latency]
    assert kafka.fetch_wait_ms(latency) == 500
    for s in (tansu, kafka):
        assert consumer_config(s.for_consumer(latency), "g")["fetch_max_wait_ms"] == (
            s.fetch_wait_ms(latency)
        )
    assert consumer_config(tansu, "g")["fetch_max_wait_ms"] == TANSU_WAITS[Latency.BULK]


def test_explicit_waits_win_on_any_broker() -> None:
    for flavour in ("tansu", "kafka"):
        s = settings(
            broker_flavour=flavour,
            fetch_max_wait_ms=40,
            stream_fetch_max_wait_ms=7,
            interactive_fetch_max_wait_ms=2,
        )
        assert s.for_consumer(Latency.BULK).fetch_wait_ms() == 40
        assert s.for_consumer(Latency.STREAM).fetch_wait_ms() == 7
        assert s.for_consumer(Latency.INTERACTIVE).fetch_wait_ms() == 2


def test_the_waits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLS_STREAM_FETCH_MAX_WAIT_MS", "30")
    monkeypatch.setenv("NLS_INTERACTIVE_FETCH_MAX_WAIT_MS", "3")
    s = settings(broker_flavour="tansu")
    assert (s.fetch_wait_ms(Latency.STREAM), s.fetch_wait_ms(Latency.INTERACTIVE)) == (30, 3)


def test_each_agent_and_read_model_has_the_latency_of_who_waits_on_it() -> None:
    platform = bootstrap(settings(broker_flavour="tansu"))

    def of(items: Mapping[str, Any], latency: Latency) -> set[str]:
        return {name for name, x in items.items() if x.latency is latency}

    assert of(platform.agents, Latency.STREAM) == STREAM_AGENTS
    assert of(platform.agents, Latency.INTERACTIVE) == INTERACTIVE_AGENTS
    assert of(platform.projections, Latency.STREAM) == STREAM_READ_MODELS
    assert of(platform.projections, Latency.INTERACTIVE) == INTERACTIVE_READ_MODELS


@pytest.mark.parametrize("latency", list(Latency))
def test_a_faust_worker_fetches_with_its_wait(latency: Latency) -> None:
    s = settings(broker_flavour="tansu").for_consumer(latency)
    assert build_app(s, "waits").conf.nls_fetch_max_wait_ms == TANSU_WAITS[latency]
