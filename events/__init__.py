"""The event catalog: envelope, one module per bounded context, topics, codec, upcasters.

Importing this package registers every event type in ``CATALOG``. No I/O.
"""

from events import content, courses, drills, learning, lessons, sagas, training
from events.catalog import CATALOG, Catalog, EventSpec, event
from events.codec import EncodedEvent, decode, encode, header
from events.envelope import Envelope, Payload, derive_id, utcnow
from events.errors import EventError, InvalidEvent, UndecodableEvent, UnknownEventType, UpcastError
from events.topics import Context, TopicNames

__all__ = [
    "CATALOG",
    "Catalog",
    "Context",
    "EncodedEvent",
    "Envelope",
    "EventError",
    "EventSpec",
    "InvalidEvent",
    "Payload",
    "TopicNames",
    "UndecodableEvent",
    "UnknownEventType",
    "UpcastError",
    "content",
    "courses",
    "decode",
    "derive_id",
    "drills",
    "encode",
    "event",
    "header",
    "learning",
    "lessons",
    "sagas",
    "training",
    "utcnow",
]
