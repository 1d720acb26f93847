"""The phase worker on the broker before any projector has run: a phase is still made.

The worker asks the read model whether a redelivered request's phase has completed
already (to save a model call); on a fresh stack that read model has no tables yet,
which must not turn the request into a dead letter and stall the lesson.
"""

from __future__ import annotations

import pytest

from events import Context, Envelope, decode
from events.lessons import LessonPhase, LessonPhaseCompleted, LessonPhaseRequested, PhaseStatus
from services.bus.producer import EventPublisher
from services.generation import Gateway
from services.settings import Settings
from tests.support.helpers import background, read_topic, topic_size, wait_until
from tests.support.lessons import brief
from tests.support.platform import agent

pytestmark = pytest.mark.integration


async def test_a_phase_is_made_before_the_read_model_exists(settings: Settings) -> None:
    request = brief("cg2365", "safe-isolation", lesson_id="fresh-1")
    asked = Envelope.new(
        LessonPhaseRequested(
            lesson_id="fresh-1", phase=LessonPhase.PLANNING, strategy="rules", brief=request
        ),
        source="test",
    )
    topic = settings.topics().domain(Context.LESSONS)

    async def completed() -> list[LessonPhaseCompleted]:
        return [
            e.payload_as(LessonPhaseCompleted)
            for e in (decode(r.value) for r in await read_topic(settings, topic))
            if isinstance(e.payload, LessonPhaseCompleted)
        ]

    async with background(agent(settings, "lesson-phases", gateway=Gateway())):
        async with EventPublisher(settings) as pub:
            await pub.publish([asked])
        (done,) = await wait_until(completed, lambda found: len(found) == 1, what="planning")
    assert done.phase is LessonPhase.PLANNING and done.status is PhaseStatus.COMPLETED
    assert done.output["layout"] in ("split-vis", "linear-flow", "focus-mode")
    assert await topic_size(settings, [settings.topics().dlq(Context.LESSONS)]) == 0
