"""A readability measure against the grade: the Flesch-Kincaid grade level of the prose.

Only words of letters count (numbers and symbols are the task, not the prose);
syllables are counted by vowel groups, which is what Flesch-Kincaid implementations
do. ``age_fit`` is 1 while the text reads at most one grade above the learner's and
falls to 0 six grades further; text without prose (bare equations) fits any grade.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["age_fit", "fk_grade", "syllables"]

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_VOWELS = re.compile(r"[aeiouy]+")
SLACK_GRADES = 1.0  # reading one grade above is fine
ZERO_AT = 6.0  # grades above the slack where the fit reaches 0


def syllables(word: str) -> int:
    w = word.lower()
    groups = len(_VOWELS.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee")) and groups > 1:
        groups -= 1  # a silent final e
    return max(1, groups)


def fk_grade(texts: Iterable[str]) -> float | None:
    """The Flesch-Kincaid grade of the texts read together; None when there is no prose."""
    words = sentences = syl = 0
    for text in texts:
        found = _WORD.findall(text)
        if not found:
            continue
        words += len(found)
        syl += sum(syllables(w) for w in found)
        sentences += max(1, len(_SENTENCE_END.findall(text)))
    if words == 0:
        return None
    return 0.39 * words / sentences + 11.8 * syl / words - 15.59


def age_fit(texts: Iterable[str], grade: int) -> float:
    """1.0 when the prose reads at most a grade above ``grade``, falling linearly to 0."""
    level = fk_grade(texts)
    if level is None:
        return 1.0
    over = level - grade - SLACK_GRADES
    return round(max(0.0, min(1.0, 1.0 - over / ZERO_AT)), 4)
