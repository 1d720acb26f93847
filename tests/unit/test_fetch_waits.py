"""How long each consumer's idle fetch waits.

On the embedded Tansu broker a fetch answers only when its wait ends, so the wait
is each hop's latency floor: the agents and read models a learner waits on fetch
with a short wait, the rest with a longer one. Kafka and Redpanda answer as soon
as data arrives, so there both waits are the client's usual 500 ms.
"""

from __future__ import annotations

import pytest

from services.bootstrap import bootstrap
from services.bus.consumer import consumer_config
from services.runtime.faust_app import build_app
from services.settings import Settings

# The learner-facing path: answer -> diagnosis -> plan (-> JIT atoms), and today's
# strength session.
INTERACTIVE_AGENTS = {"diagnoser", "remediation", "jit", "training-jit"}
INTERACTIVE_READ_MODELS = {"learning", "remediation", "training"}


def settings(**values: object) -> Settings:
    return Settings(kafka_bootstrap_servers="127.0.0.1:9092", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flavour", "plain", "interactive"), [("tansu", 250, 20), ("kafka", 500, 500)]
)
def test_defaults_follow_the_broker(flavour: str, plain: int, interactive: int) -> None:
    s = settings(broker_flavour=flavour)
    assert s.fetch_wait_ms() == plain
    assert s.fetch_wait_ms(interactive=True) == interactive
    assert consumer_config(s, "g")["fetch_max_wait_ms"] == plain
    assert consumer_config(s.for_consumer(interactive=True), "g")["fetch_max_wait_ms"] == (
        interactive
    )


def test_explicit_waits_win_on_any_broker() -> None:
    for flavour in ("tansu", "kafka"):
        s = settings(broker_flavour=flavour, fetch_max_wait_ms=40, interactive_fetch_max_wait_ms=2)
        assert s.fetch_wait_ms() == 40
        assert s.for_consumer(interactive=True).fetch_wait_ms() == 2
        assert s.for_consumer(interactive=False).fetch_wait_ms() == 40


def test_the_learner_facing_agents_and_read_models_are_interactive() -> None:
    platform = bootstrap(settings(broker_flavour="tansu"))
    agents = {name for name, spec in platform.agents.items() if spec.interactive}
    read_models = {name for name, p in platform.projections.items() if p.interactive}
    assert agents == INTERACTIVE_AGENTS
    assert read_models == INTERACTIVE_READ_MODELS


@pytest.mark.parametrize(("interactive", "wait"), [(True, 20), (False, 250)])
def test_a_faust_worker_fetches_with_its_wait(interactive: bool, wait: int) -> None:
    s = settings(broker_flavour="tansu").for_consumer(interactive=interactive)
    assert build_app(s, "waits").conf.nls_fetch_max_wait_ms == wait
