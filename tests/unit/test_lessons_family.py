"""The lessons family's declaration: what each agent consumes and produces is what its
handler takes and emits, and everything it names loads."""

from __future__ import annotations

import asyncio

import pytest

from events.sagas import SagaDeadlineReached
from services.generation import Gateway
from services.lessons.agents import LessonRewriter, LessonScorer, PhaseWorker
from services.lessons.family import FAMILY
from services.lessons.saga import LessonPipelineSaga
from services.lessons.settings import LessonSettings
from services.runtime.family import Deps, load
from services.settings import Settings

pytestmark = pytest.mark.unit


def test_each_agent_builds_its_handler_from_its_dependencies() -> None:
    settings = Settings().with_section(LessonSettings, phase_concurrency=3)
    gateway = Gateway()
    deps = Deps(settings, overrides={"gateway": gateway, "read_engine": object()})
    built = {spec.name: spec.build(deps) for spec in FAMILY.agents}
    assert isinstance(built["lesson-phases"], PhaseWorker)
    assert built["lesson-phases"].concurrency == 3 and built["lesson-phases"].gateway is gateway
    assert isinstance(built["lesson-scorer"], LessonScorer)
    assert isinstance(built["lesson-rewriter"], LessonRewriter)
    saga = built["lesson-pipeline"]
    assert isinstance(saga, LessonPipelineSaga)
    for spec in FAMILY.agents:
        handler = built[spec.name]
        if spec.saga:
            assert spec.consumed_types == saga.event_types | {SagaDeadlineReached.event_type}
        else:
            assert spec.consumed_types == handler.event_types
    asyncio.run(deps.aclose())


def test_everything_the_family_names_loads() -> None:
    assert FAMILY.name == "lessons"
    for ref in FAMILY.strategies:
        assert load(ref).name.startswith("lessons.")
    assert FAMILY.router is not None and load(FAMILY.router).routes
    assert load(FAMILY.read_models[0])().name == "lessons"
    assert load(FAMILY.cli["lessons"]).registered_commands
    assert {t.event_type for t in FAMILY.inputs} == {
        "lesson-requested",
        "lesson-improve-requested",
    }


def test_the_registry_takes_the_family() -> None:
    from services.bootstrap import bootstrap

    platform = bootstrap(Settings())
    assert FAMILY in platform.families
    assert {"lesson-phases", "lesson-scorer", "lesson-rewriter", "lesson-pipeline"} <= set(
        platform.agents
    )
    assert "lessons" in platform.projections and "lessons" in platform.cli_groups()
    docs = platform.docs()
    events = docs["events.md"]
    for name in ("lesson-requested", "lesson-refined", "lesson-completed"):
        assert name in events
    assert "schemas/lesson.v1.json" in docs  # the lesson contract, beside the events
