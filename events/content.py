"""Content context: concepts, content packs and learning atoms.

Its topic carries the remediation content the generator agents produce; the
event types are defined with the JIT remediation flow, which owns them.
"""

from __future__ import annotations

from events.topics import Context

__all__ = ["CONTEXT"]

CONTEXT = Context.CONTENT
