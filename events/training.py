"""Training context: strength-training sessions and their JIT adjustment.

The event types are defined with the training JIT generator, which owns them.
"""

from __future__ import annotations

from events.topics import Context

__all__ = ["CONTEXT"]

CONTEXT = Context.TRAINING
