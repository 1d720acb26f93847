"""Errors of the platform's wiring and lookups (the tree is in events/errors.py)."""

from __future__ import annotations

from collections.abc import Iterable

from events.errors import NlsError

__all__ = ["ConfigurationError", "NlsError", "NotFound", "StillRunning", "UnknownName"]


class ConfigurationError(NlsError):
    """Something the installation must provide is missing or wrong (broker, database,
    token, a setting's value)."""


class UnknownName(ConfigurationError, KeyError):
    """A name (agent, read model, strategy, command) that is not in the registry."""

    def __init__(self, what: str, name: str, known: Iterable[str]) -> None:
        self.what = what
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown {what} {name!r} (known: {', '.join(self.known)})")

    def __str__(self) -> str:
        return str(self.args[0])


class NotFound(NlsError):
    """The thing asked for does not exist (a course, a series, a concept)."""


class StillRunning(NlsError):
    """A command waited for a workflow (a series, a lesson) and it had not finished."""
