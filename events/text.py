"""What counts as storable text, decided once for every event.

Postgres ``text`` and ``jsonb`` cannot hold NUL (U+0000), and a surrogate code
point (U+D800-U+DFFF) standing alone is not Unicode text at all: UTF-8 cannot
encode it, so neither orjson nor asyncpg can write it. An event carrying either
would be accepted by one reader and lost by the next (a diagnosis without its
attempt), so the catalog refuses it at validation and every reader agrees.

``TextChecked`` is the base of the envelope, every payload and every nested
value object: one validator per model looks at every field's value (strings
inside lists, tuples and dicts, and dict keys, included), so no field can be
forgotten. Each error's ``loc`` names the field, and the position inside a
container, the way pydantic names its own errors.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from enum import Enum
from typing import NamedTuple, Self

from pydantic import BaseModel, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "CLEAN_JSON",
    "TEXT_ERROR_TYPE",
    "TextChecked",
    "TextProblem",
    "find_text_problems",
    "json_is_clean",
    "storable",
    "text_problem",
]

TEXT_ERROR_TYPE = "text_unstorable"

Loc = tuple[str | int, ...]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Types whose values hold no unchecked text: passed over without a walk. It
# grows as enums and checked models are met (see ``_clean``).
_NO_TEXT: set[type] = {int, float, bool, type(None), uuid.UUID, datetime}


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None when it can."""
    if text.isascii() and "\x00" not in text:
        return None
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return (
            f"text contains NUL (U+0000) at index {found.start()}, which Postgres text cannot store"
        )
    return (
        f"text contains an unpaired surrogate (U+{ord(found.group()):04X}) at index "
        f"{found.start()}, which is not valid Unicode"
    )


def storable(text: str) -> str:
    """``text`` itself when it can be stored; else with NUL and surrogates as escapes.

    For messages that quote input (a dict key in a ``loc``, a parser's
    complaint): a dead-letter reason or an HTTP error must itself be storable.
    """
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class TextProblem(NamedTuple):
    """One unstorable string: where it is, the string, and why."""

    loc: Loc
    text: str
    problem: str


def find_text_problems(value: object, loc: Loc = ()) -> list[TextProblem]:
    """Every unstorable string inside ``value``, each with its ``loc`` below ``loc``.

    A dict key is named like pydantic names one (``(..., key, "[key]")``).
    Models deriving from ``TextChecked`` are not entered: they check their own
    fields when they are built.
    """
    found: list[TextProblem] = []
    for where, text in _texts(value, loc):
        problem = text_problem(text)
        if problem is not None:
            found.append(TextProblem(where, text, problem))
    return found


def _texts(value: object, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if type(value) in _NO_TEXT:
        return
    if isinstance(value, str):
        if not isinstance(value, Enum):  # enum members are the catalog's own constants
            yield loc, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            part = key if isinstance(key, str | int) else repr(key)
            yield from _texts(key, (*loc, part, "[key]"))
            yield from _texts(item, (*loc, part))
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            yield from _texts(item, (*loc, i))
    elif isinstance(value, BaseModel) and not isinstance(value, TextChecked):
        for name, item in value.__dict__.items():
            yield from _texts(item, (*loc, name))


def _clean(value: object) -> bool:
    """The common case, decided without a walk: no text, or ASCII text without NUL."""
    kind = type(value)
    if kind in _NO_TEXT:
        return True
    if isinstance(value, str) and kind is str:
        return value.isascii() and "\x00" not in value
    if issubclass(kind, Enum | TextChecked):
        _NO_TEXT.add(kind)  # enum members are constants; checked models checked themselves
        return True
    return False


# JSON whose text cannot hold NUL or a surrogate: neither as a raw NUL byte (orjson
# refuses invalid UTF-8, so a raw surrogate cannot get through) nor as an escape.
_UNSTORABLE_ESCAPE = re.compile(rb"\x00|\\u0000|\\u[dD][89abAB]|\\u[dD][c-fC-F]")
CLEAN_JSON = {"text_checked": True}  # the validation context for such bytes


def json_is_clean(value: bytes) -> bool:
    """Whether JSON bytes cannot decode to unstorable text: one scan of the bytes saves
    the check of every string of every model (the projectors' hot path)."""
    if b"\\u" not in value and b"\x00" not in value:  # the common case, at memchr speed
        return True
    return _UNSTORABLE_ESCAPE.search(value) is None


class TextChecked(BaseModel):
    """Base that refuses unstorable text in any field of any subclass.

    One validator per model, not one per field: decoding is on the projectors'
    hot path, and a call per field doubled its cost.
    """

    @model_validator(mode="after")
    def refuse_unstorable_text(self, info: ValidationInfo) -> Self:
        if info.context is CLEAN_JSON:  # the bytes were scanned already
            return self
        fields = self.__dict__
        for value in fields.values():
            kind = type(value)  # the common cases inline: this runs for every event read
            if kind in _NO_TEXT or (kind is str and value.isascii() and "\x00" not in value):
                continue
            if not _clean(value):
                break
        else:
            return self
        problems = [p for name, v in fields.items() for p in find_text_problems(v, (name,))]
        if problems:
            # A ValidationError raised here keeps each loc, extended by the
            # enclosing models' (payload.answer_given), so errors name the field.
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(TEXT_ERROR_TYPE, p.problem),
                        loc=p.loc,
                        input=p.text,
                    )
                    for p in problems
                ],
            )
        return self
