"""The diagnoser agent: answers in, diagnoses out. Runs on the batched consumer."""

from __future__ import annotations

from collections.abc import Sequence

from events import Envelope
from events.learning import AnswerSubmitted
from services.bus.consumer import Delivery
from services.diagnosis.rules import LearnerHistory, Thresholds, decide, evolve

__all__ = ["Diagnoser"]


class Diagnoser:
    """Keeps each learner's history (rebuilt from the log on assignment)."""

    name = "diagnoser"
    event_types: frozenset[str] | None = frozenset({AnswerSubmitted.event_type})

    def __init__(self, limits: Thresholds | None = None) -> None:
        self.limits = limits or Thresholds()
        self.learners: dict[str, LearnerHistory] = {}

    def reset(self) -> None:
        self.learners.clear()

    def _history(self, learner_id: str) -> LearnerHistory:
        history = self.learners.get(learner_id)
        if history is None:
            history = self.learners[learner_id] = LearnerHistory()
        return history

    def replay(self, event: Envelope) -> None:
        evolve(self._history(event.key), event.payload_as(AnswerSubmitted), event.occurred_at)

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        answer = event.payload_as(AnswerSubmitted)
        history = self._history(answer.learner_id)
        diagnosis = decide(history, answer, event.occurred_at, event.event_id, self.limits)
        evolve(history, answer, event.occurred_at)
        if diagnosis is None:
            return ()
        return (event.derive(diagnosis, role="diagnosis", source=self.name),)
