"""Replaying dead letters, the pure half: what to republish, and the markers that record it.

A replay republishes a dead letter's original record (its key, value and
headers, the ``dlq.*`` headers left out) to its source topic, then appends a
*replay marker* to the same dead-letter topic: a record whose ``dlq.replay_of``
header names the original's coordinates. The log stays the only truth: the
dead-letters read model folds markers into each dead letter's ``replayed_at``,
so a rebuild (``nls replay``) restores the marks, and a replay that reads the
dead-letter topics finds what was replayed before without asking a read model
that may lag.

Several readers may dead-letter the same original (the diagnoser and each
projection of its topic); it is republished once, and every reader gets it
again. Readers that had applied it skip it (effects are idempotent by event id).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from events import TopicNames, header
from services.bus.consumer import Delivery
from services.runtime.dead_letters import DeadLetter, DeadLetterInfo, read_dead_letter

__all__ = [
    "REPLAYED_AT",
    "REPLAYED_BY",
    "REPLAY_OF",
    "Original",
    "ReplayFilter",
    "ReplayMarker",
    "ReplayPlan",
    "Source",
    "marker_for",
    "parse_since",
    "plan_replay",
    "read_marker",
]

REPLAY_OF = "dlq.replay_of"  # "<partition>:<offset>" of the original in its source topic
_SOURCE_TOPIC = "dlq.source_topic"
REPLAYED_AT = "dlq.replayed_at"
REPLAYED_BY = "dlq.replayed_by"
_DLQ_PREFIX = "dlq."
_DURATION = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """Where an original record sits in its domain topic."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}@{self.offset}"


@dataclass(frozen=True, slots=True)
class ReplayMarker:
    """A replay, as recorded in the dead-letter topic."""

    source: Source
    replayed_at: datetime
    replayed_by: str


@dataclass(frozen=True)
class Original:
    """A record to republish, with the dead letters (one per failing reader) it answers."""

    source: Source
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    event_type: str | None
    dead_letters: list[DeadLetterInfo]


@dataclass(frozen=True, slots=True)
class ReplayFilter:
    agent: str | None = None
    kind: str | None = None
    since: datetime | None = None

    def matches(self, info: DeadLetterInfo) -> bool:
        return (
            (self.agent is None or info.agent == self.agent)
            and (self.kind is None or info.kind == self.kind)
            and (self.since is None or info.failed_at >= self.since)
        )


@dataclass
class ReplayPlan:
    """What a replay with a filter republishes, and what it leaves."""

    originals: list[Original] = field(default_factory=list)
    already: list[DeadLetterInfo] = field(default_factory=list)  # matched, replayed before
    unreplayable: int = 0  # records that are neither our dead letters nor markers

    def tally(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(agent, kind) -> (dead letters to replay, dead letters replayed before)."""
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for o in self.originals:
            for d in o.dead_letters:
                todo, done = out.get((d.agent, d.kind), (0, 0))
                out[(d.agent, d.kind)] = (todo + 1, done)
        for d in self.already:
            todo, done = out.get((d.agent, d.kind), (0, 0))
            out[(d.agent, d.kind)] = (todo, done + 1)
        return dict(sorted(out.items()))


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A duration back from now (``90s``, ``15m``, ``6h``, ``2d``) or an ISO 8601 time."""
    m = _DURATION.match(text)
    if m:
        moment = (now or datetime.now(UTC)) - timedelta(**{_UNITS[m[2]]: int(m[1])})
        return moment
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"since {text!r}: expected a duration (90s, 15m, 6h, 2d) or an ISO 8601 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"since {text!r}: out of range") from None


def marker_for(
    original: Original, *, topics: TopicNames, replayed_by: str, now: datetime
) -> DeadLetter:
    """The record that marks ``original`` replayed, for its source topic's dead-letter topic."""
    src = original.source
    meta = {
        REPLAY_OF: f"{src.partition}:{src.offset}",
        _SOURCE_TOPIC: src.topic,
        REPLAYED_AT: now.isoformat(),
        REPLAYED_BY: replayed_by,
    }
    # The value is for people browsing the topic; readers use the headers.
    value = orjson.dumps({"replay_of": str(src), "replayed_at": now, "replayed_by": replayed_by})
    headers = [(k, v.encode()) for k, v in meta.items()]
    return DeadLetter(topics.dlq_for(src.topic), original.key, value, headers)


def read_marker(delivery: Delivery) -> ReplayMarker | None:
    """The replay ``delivery`` records, or None when it is not a marker.

    Raises ValueError for a marker whose headers do not parse.
    """
    replay_of = header(delivery.headers, REPLAY_OF)
    if replay_of is None:
        return None
    topic = header(delivery.headers, _SOURCE_TOPIC)
    at = header(delivery.headers, REPLAYED_AT)
    partition, sep, offset = replay_of.partition(":")
    if not (topic and at and sep and partition.isdigit() and offset.isdigit()):
        raise ValueError(
            f"replay marker at {delivery.topic}:{delivery.partition}@{delivery.offset} "
            f"is malformed ({REPLAY_OF}={replay_of!r}, source topic {topic!r})"
        )
    try:
        replayed_at = datetime.fromisoformat(at)
    except ValueError:
        raise ValueError(f"replay marker at {delivery.topic}@{delivery.offset}: {at!r}") from None
    return ReplayMarker(
        Source(topic, int(partition), int(offset)),
        replayed_at,
        header(delivery.headers, REPLAYED_BY) or "unknown",
    )


def plan_replay(records: Iterable[Delivery], flt: ReplayFilter, topics: TopicNames) -> ReplayPlan:
    """Fold the dead-letter topics' records into what a replay with ``flt`` republishes."""
    plan = ReplayPlan()
    replayed: set[Source] = set()
    groups: dict[Source, list[tuple[Delivery, DeadLetterInfo]]] = {}
    domain = set(topics.all_domain())
    for d in records:
        try:
            marker = read_marker(d)
            if marker is not None:
                replayed.add(marker.source)
                continue
            info = read_dead_letter(d)
        except ValueError:
            plan.unreplayable += 1
            continue
        if info.source_topic not in domain or topics.dlq_for(info.source_topic) != d.topic:
            plan.unreplayable += 1  # its source is not a domain topic of this deployment
            continue
        if flt.matches(info):
            src = Source(info.source_topic, info.source_partition, info.source_offset)
            groups.setdefault(src, []).append((d, info))
    for src, found in groups.items():
        infos = [info for _, info in found]
        if src in replayed:
            plan.already.extend(infos)
            continue
        first, info = found[0]
        plan.originals.append(
            Original(
                source=src,
                key=first.key,
                value=first.value,
                headers=[(k, v) for k, v in first.headers if not k.startswith(_DLQ_PREFIX)],
                event_type=info.event_type,
                dead_letters=infos,
            )
        )
    return plan
