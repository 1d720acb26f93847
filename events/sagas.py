"""Infrastructure events of the saga runtime; they may live on any context topic."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from events.catalog import event
from events.common import Identifier
from events.envelope import Payload

__all__ = ["SagaDeadlineReached"]


@event("saga-deadline-reached", context=None, key="instance_id")
class SagaDeadlineReached(Payload):
    """A saga's deadline passed before it finished.

    Published by the saga's timer on the saga's own topic, keyed by the saga
    instance, so it is ordered with the events the saga waits for.
    """

    saga: Identifier = Field(description="name of the saga, e.g. drill-series")
    instance_id: Identifier = Field(description="the saga instance (its aggregate id)")
    deadline: Identifier = Field(description="which deadline of the saga, e.g. batches")
    due_at: AwareDatetime
