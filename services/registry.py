"""The families of this installation: one line each.

A family is a package ``services/<family>/`` whose ``family.py`` declares
``FAMILY`` (see ``services.runtime.family``). Adding a family is its package,
its read-model modules under ``projections/``, its tests, and one line here.
"""

from __future__ import annotations

__all__ = ["FAMILIES"]

FAMILIES: tuple[str, ...] = (
    "services.diagnosis.family:FAMILY",
    "services.content.family:FAMILY",
    "services.remediation.family:FAMILY",
    "services.drills.family:FAMILY",
    "services.strength.family:FAMILY",
    "services.courses.family:FAMILY",
    "services.lessons.family:FAMILY",
)
