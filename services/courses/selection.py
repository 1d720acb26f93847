"""The fan-in's decision, pure: similarity, argmax, fail-fast and the final gate.

- similarity: pairwise cosine of the candidates' items as TF-IDF vectors (words
  and numbers of each item's text, options and answer; the weight of a term falls
  with the share of items holding it, so a shared instruction such as "Compute"
  says little and a shared fact or number says much). Above 0.85: the
  "Candidates too similar" warning;
- selection: the highest score, ties to the lowest index;
- fail fast: the best score below ``MIN_VIABLE_SCORE`` gives
  ``candidate_scores_too_low`` (the seed's 422 body), with no repair;
- the final gate: the selected score below ``REVIEW_THRESHOLD`` gives
  ``review_below_threshold``, unless ``SKIP_REVIEW``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from events.courses import PLACEHOLDER, CourseDraft, SimilarityPair

__all__ = [
    "SIMILARITY_LIMIT",
    "Verdict",
    "item_terms",
    "judge",
    "select",
    "similarity",
]

SIMILARITY_LIMIT = 0.85
_TERM = re.compile(r"[a-z]+|\d+(?:[./]\d+)?")


def item_terms(course: CourseDraft) -> list[list[str]]:
    """Each item's terms: lower-case words and numbers of its text, options and answer."""
    out = []
    for _, item in course.items():
        text = PLACEHOLDER.sub(" ", item.text or "")
        parts = [text, *(item.options or []), item.answer or ""]
        out.append(_TERM.findall(" ".join(parts).casefold()))
    return out


def _vectors(courses: Mapping[int, CourseDraft]) -> dict[int, dict[str, float]]:
    items = {i: item_terms(c) for i, c in courses.items()}
    n_items = sum(len(v) for v in items.values())
    df: Counter[str] = Counter()
    for per_course in items.values():
        for terms in per_course:
            df.update(set(terms))
    vectors = {}
    for i, per_course in items.items():
        tf: Counter[str] = Counter(t for terms in per_course for t in terms)
        vectors[i] = {t: c * math.log(1 + n_items / df[t]) for t, c in tf.items()}
    return vectors


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(w * b.get(t, 0.0) for t, w in a.items())
    na = math.sqrt(sum(w * w for w in a.values()))
    nb = math.sqrt(sum(w * w for w in b.values()))
    if not na or not nb:
        return 1.0 if na == nb else 0.0  # two empty candidates are alike
    return max(0.0, min(1.0, dot / (na * nb)))


def similarity(courses: Mapping[int, CourseDraft]) -> list[SimilarityPair]:
    """Cosine similarity of every pair of candidates, by index."""
    vectors = _vectors(courses)
    keys = sorted(vectors)
    return [
        SimilarityPair(a=a, b=b, cosine=round(_cosine(vectors[a], vectors[b]), 4))
        for n, a in enumerate(keys)
        for b in keys[n + 1 :]
    ]


def select(scores: Mapping[int, float]) -> int:
    """The index of the best score; ties go to the lowest index."""
    if not scores:
        raise ValueError("no scored candidate to select from")
    return min(scores, key=lambda i: (-scores[i], i))


@dataclass(frozen=True)
class Verdict:
    outcome: str  # selected, candidate_scores_too_low, review_below_threshold
    index: int
    score: float
    max_score: float


def judge(
    scores: Mapping[int, float],
    *,
    min_viable_score: float,
    review_threshold: float,
    skip_review: bool,
) -> Verdict:
    """Select, fail fast below the minimum viable score, then the final gate."""
    index = select(scores)
    best = scores[index]
    if best < min_viable_score:
        return Verdict("candidate_scores_too_low", index, best, best)
    if not skip_review and best < review_threshold:
        return Verdict("review_below_threshold", index, best, best)
    return Verdict("selected", index, best, best)
