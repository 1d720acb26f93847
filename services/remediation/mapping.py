"""What to generate for a failure: the seed's fail mode -> content types -> atom types tables.

| fail mode            | content types            | atom types prioritised        |
|----------------------|--------------------------|-------------------------------|
| encoding_error       | explanation, practice    | flashcard, cloze first        |
| retrieval_error      | practice                 | standard practice             |
| discrimination_error | practice                 | true/false, compare first     |
| integration_error    | worked example, practice | parsons, numeric first        |
| executive_error      | practice                 | (no generation: behavioural)  |
| fatigue_error        | none                     | (suggest a break)             |
"""

from __future__ import annotations

from collections.abc import Sequence

from events.content import AtomType, ContentType
from events.learning import FailMode

__all__ = [
    "CONTENT_TYPE_ATOM_TYPES",
    "FAIL_MODE_CONTENT_TYPES",
    "FAIL_MODE_PREPENDS",
    "MAX_PROACTIVE_CONCEPTS",
    "MIN_REMEDIATION_ATOMS",
    "PROACTIVE_TARGET",
    "REMEDIATION_TARGET",
    "allocate",
    "atom_types_for",
    "content_type_of",
    "fail_mode_to_content_types",
    "types_for_content_type",
]

MIN_REMEDIATION_ATOMS = 3
REMEDIATION_TARGET = 5  # a failed question fills the gap to 5 atoms
PROACTIVE_TARGET = 3  # proactive generation tops a concept up to 3 atoms
MAX_PROACTIVE_CONCEPTS = 3

FAIL_MODE_CONTENT_TYPES: dict[FailMode, list[ContentType]] = {
    FailMode.ENCODING_ERROR: [ContentType.EXPLANATION, ContentType.PRACTICE],
    FailMode.RETRIEVAL_ERROR: [ContentType.PRACTICE],
    FailMode.DISCRIMINATION_ERROR: [ContentType.PRACTICE],
    FailMode.INTEGRATION_ERROR: [ContentType.WORKED_EXAMPLE, ContentType.PRACTICE],
    FailMode.EXECUTIVE_ERROR: [ContentType.PRACTICE],
    FailMode.FATIGUE_ERROR: [],  # don't generate: suggest a break
}

CONTENT_TYPE_ATOM_TYPES: dict[ContentType, list[AtomType]] = {
    ContentType.PRACTICE: [AtomType.FLASHCARD, AtomType.MCQ, AtomType.CLOZE],
    ContentType.EXPLANATION: [AtomType.FLASHCARD],  # conceptual focus
    # The seed lists parsons and numeric; sequence is the ordered-steps sibling of
    # parsons (its table names it for integration_error), so it comes last here.
    ContentType.WORKED_EXAMPLE: [AtomType.PARSONS, AtomType.NUMERIC, AtomType.SEQUENCE],
}

FAIL_MODE_PREPENDS: dict[FailMode, list[AtomType]] = {
    FailMode.DISCRIMINATION_ERROR: [AtomType.TRUE_FALSE, AtomType.COMPARE],
    FailMode.ENCODING_ERROR: [AtomType.FLASHCARD, AtomType.CLOZE],
    FailMode.INTEGRATION_ERROR: [AtomType.PARSONS, AtomType.NUMERIC],
}

# Which content type an atom type serves when it is generated under a request.
_ATOM_CONTENT_TYPE: dict[AtomType, ContentType] = {
    AtomType.FLASHCARD: ContentType.PRACTICE,
    AtomType.MCQ: ContentType.PRACTICE,
    AtomType.CLOZE: ContentType.PRACTICE,
    AtomType.TRUE_FALSE: ContentType.PRACTICE,
    AtomType.COMPARE: ContentType.PRACTICE,
    AtomType.PARSONS: ContentType.WORKED_EXAMPLE,
    AtomType.NUMERIC: ContentType.WORKED_EXAMPLE,
    AtomType.SEQUENCE: ContentType.WORKED_EXAMPLE,
}


def fail_mode_to_content_types(fail_mode: FailMode | str | None) -> list[ContentType]:
    if fail_mode is None:
        return [ContentType.PRACTICE]
    return list(FAIL_MODE_CONTENT_TYPES[FailMode(fail_mode)])


def _dedupe(types: Sequence[AtomType]) -> list[AtomType]:
    return list(dict.fromkeys(types))


def atom_types_for(
    content_types: Sequence[ContentType], fail_mode: FailMode | str | None = None
) -> list[AtomType]:
    """The prioritised atom types: the fail mode's prepends, then each content type's."""
    prepends = FAIL_MODE_PREPENDS.get(FailMode(fail_mode), []) if fail_mode else []
    return _dedupe([*prepends, *(t for ct in content_types for t in CONTENT_TYPE_ATOM_TYPES[ct])])


def content_type_of(atom_type: AtomType) -> ContentType:
    return _ATOM_CONTENT_TYPE[atom_type]


def types_for_content_type(
    content_type: ContentType, fail_mode: FailMode | str | None = None
) -> list[AtomType]:
    """The prioritised atom types one content type generates under a fail mode: the
    prepends that serve it first, then its own."""
    prepends = FAIL_MODE_PREPENDS.get(FailMode(fail_mode), []) if fail_mode else []
    own = CONTENT_TYPE_ATOM_TYPES[content_type]
    serving = [t for t in prepends if t in own or content_type_of(t) is content_type]
    return _dedupe([*serving, *own])


def allocate(content_types: Sequence[ContentType], count: int) -> dict[ContentType, int]:
    """Split ``count`` atoms over the content types, round robin in their order."""
    shares = dict.fromkeys(content_types, 0)
    for i in range(count):
        shares[content_types[i % len(content_types)]] += 1
    return {ct: n for ct, n in shares.items() if n}
