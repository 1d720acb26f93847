"""Topic registry: one topic per bounded context, plus a dead-letter topic beside each.

Topic names carry a prefix (``nls`` by default) so that several deployments, or
several test runs, can share one broker without seeing each other's events.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DLQ_SUFFIX", "Context", "TopicNames"]

DLQ_SUFFIX = ".dlq"


class Context(StrEnum):
    """A bounded context. Each owns exactly one domain topic."""

    LEARNING = "learning"
    CONTENT = "content"
    DRILLS = "drills"
    COURSES = "courses"
    TRAINING = "training"
    LESSONS = "lessons"


class TopicNames:
    """Maps contexts to concrete topic names under a prefix."""

    def __init__(self, prefix: str = "nls") -> None:
        if not prefix or any(c in prefix for c in " /\\"):
            raise ValueError(f"invalid topic prefix {prefix!r}")
        self.prefix = prefix

    def domain(self, context: Context) -> str:
        return f"{self.prefix}.{context.value}"

    def dlq(self, context: Context) -> str:
        return self.domain(context) + DLQ_SUFFIX

    def all_domain(self) -> list[str]:
        return [self.domain(c) for c in Context]

    def all_dlq(self) -> list[str]:
        return [self.dlq(c) for c in Context]

    def context_of(self, topic: str) -> Context:
        """The context a domain or DLQ topic belongs to."""
        name = topic.removesuffix(DLQ_SUFFIX)
        head, _, tail = name.rpartition(".")
        if head != self.prefix:
            raise ValueError(f"topic {topic!r} is not under prefix {self.prefix!r}")
        return Context(tail)

    def dlq_for(self, topic: str) -> str:
        return self.dlq(self.context_of(topic))
