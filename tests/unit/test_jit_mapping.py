"""The seed's tables: fail mode -> content types -> prioritised atom types; cache keys."""

from __future__ import annotations

import uuid

import pytest

from events.content import AtomType as A
from events.content import ContentType as C
from events.content import GenerationTrigger
from events.learning import FailMode as F
from services.remediation.mapping import (
    MIN_REMEDIATION_ATOMS,
    allocate,
    atom_types_for,
    fail_mode_to_content_types,
    types_for_content_type,
)
from services.remediation.service import cache_key

pytestmark = pytest.mark.unit


def test_fail_mode_to_content_types_is_the_seed_table() -> None:
    assert {m: fail_mode_to_content_types(m) for m in F} == {
        F.ENCODING_ERROR: [C.EXPLANATION, C.PRACTICE],
        F.RETRIEVAL_ERROR: [C.PRACTICE],
        F.DISCRIMINATION_ERROR: [C.PRACTICE],
        F.INTEGRATION_ERROR: [C.WORKED_EXAMPLE, C.PRACTICE],
        F.EXECUTIVE_ERROR: [C.PRACTICE],
        F.FATIGUE_ERROR: [],
    }
    assert MIN_REMEDIATION_ATOMS == 3


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # discrimination prepends true/false and compare to practice
        (F.DISCRIMINATION_ERROR, [A.TRUE_FALSE, A.COMPARE, A.FLASHCARD, A.MCQ, A.CLOZE]),
        # encoding prepends flashcard and cloze
        (F.ENCODING_ERROR, [A.FLASHCARD, A.CLOZE, A.MCQ]),
        # integration prepends parsons and numeric before the worked examples' own
        (F.INTEGRATION_ERROR, [A.PARSONS, A.NUMERIC, A.SEQUENCE, A.FLASHCARD, A.MCQ, A.CLOZE]),
        (F.RETRIEVAL_ERROR, [A.FLASHCARD, A.MCQ, A.CLOZE]),
        (F.EXECUTIVE_ERROR, [A.FLASHCARD, A.MCQ, A.CLOZE]),
        (F.FATIGUE_ERROR, []),
    ],
)
def test_atom_type_prioritisation(mode: F, expected: list[A]) -> None:
    assert atom_types_for(fail_mode_to_content_types(mode), mode) == expected


def test_each_content_type_takes_the_prepends_that_serve_it() -> None:
    assert types_for_content_type(C.PRACTICE) == [A.FLASHCARD, A.MCQ, A.CLOZE]
    assert types_for_content_type(C.EXPLANATION) == [A.FLASHCARD]
    assert types_for_content_type(C.WORKED_EXAMPLE) == [A.PARSONS, A.NUMERIC, A.SEQUENCE]
    assert types_for_content_type(C.EXPLANATION, F.ENCODING_ERROR) == [A.FLASHCARD]
    assert types_for_content_type(C.PRACTICE, F.ENCODING_ERROR) == [A.FLASHCARD, A.CLOZE, A.MCQ]
    assert types_for_content_type(C.PRACTICE, F.DISCRIMINATION_ERROR) == [
        A.TRUE_FALSE,
        A.COMPARE,
        A.FLASHCARD,
        A.MCQ,
        A.CLOZE,
    ]


def test_counts_are_shared_round_robin() -> None:
    assert allocate([C.EXPLANATION, C.PRACTICE], 4) == {C.EXPLANATION: 2, C.PRACTICE: 2}
    assert allocate([C.WORKED_EXAMPLE, C.PRACTICE], 3) == {C.WORKED_EXAMPLE: 2, C.PRACTICE: 1}
    assert allocate([C.PRACTICE], 1) == {C.PRACTICE: 1}


def test_cache_key_format() -> None:
    concept = uuid.UUID("abc12300-0000-4000-8000-000000000000")
    key = cache_key(concept, GenerationTrigger.FAILED_QUESTION, [C.PRACTICE, C.EXPLANATION])
    assert key == f"{concept}:failed_question:explanation,practice"
