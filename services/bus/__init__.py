"""aiokafka producer, consumer and admin wrappers."""

from services.bus.admin import ensure_topics
from services.bus.consumer import Delivery, consumer_config
from services.bus.producer import EventPublisher, Publisher

__all__ = ["Delivery", "EventPublisher", "Publisher", "consumer_config", "ensure_topics"]
