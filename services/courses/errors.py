"""Typed errors of the courses family, each carrying what it is about.

- ``ArithmeticCheckError`` family (the checker): ``ArithmeticSyntaxError`` (the text is
  not an expression it reads), ``DivisionByZero``, ``NotANumber`` (an answer that is
  no number);
- ``CourseError`` family (generation): ``NoSourceMaterial`` (the rules strategy has
  nothing real to build a course from for this subject or topic). A generator
  reports these as a failed candidate; the other candidates go on.

Both derive from ``NlsError`` (events/errors.py) and are permanent: the same input
fails the same way.
"""

from __future__ import annotations

from events.errors import NlsError

__all__ = [
    "ArithmeticCheckError",
    "ArithmeticSyntaxError",
    "CourseError",
    "DivisionByZero",
    "NoSourceMaterial",
    "NotANumber",
]


class ArithmeticCheckError(NlsError, ValueError):
    """Base of what the arithmetic checker refuses."""


class ArithmeticSyntaxError(ArithmeticCheckError):
    def __init__(self, text: str, position: int, why: str) -> None:
        super().__init__(f"cannot read {text.strip()!r} as arithmetic: {why}")
        self.text = text
        self.position = position
        self.why = why


class DivisionByZero(ArithmeticSyntaxError):
    pass


class NotANumber(ArithmeticCheckError):
    def __init__(self, text: str) -> None:
        super().__init__(f"{text.strip()!r} is not a number")
        self.text = text


class CourseError(NlsError):
    """Base of the family's generation errors; ``reason`` is recorded on the candidate."""

    reason = "course_error"


class NoSourceMaterial(CourseError):
    reason = "no_source"

    def __init__(self, subject: str, topic: str | None, known: list[str]) -> None:
        about = f"subject {subject!r}" + (f", topic {topic!r}" if topic else "")
        super().__init__(
            f"the rules strategy has no source material for {about} (known: {', '.join(known)})"
        )
        self.subject = subject
        self.topic = topic
        self.known = known
