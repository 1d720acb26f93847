"""Teaching constraints parsed from ``mustHaveTopics`` (Phase 1), honoured by every later phase.

- ``excludeHowTo``: "what X is for, not how to use it": no procedures or steps;
- ``purposeOnly``: "focus on purpose, not procedures": the same, and no worked procedure;
- ``identificationOnly``: "identify X, not procedures": questions ask to identify
  or recognise, never to carry out;
- ``noCalculations``: "concepts only, no maths": no worked calculation, no
  calculation questions, no formulas;
- ``specificScope``: other limits ("only radial and ring final circuits"): the
  lesson keeps to the named scope terms.

The parser is deterministic; an llm planner's constraints are joined with it,
so a model can add a constraint but never drop one the author wrote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

from pydantic import Field

from services.lessons.contract import AnswerType, Camel, Question
from services.lessons.text import normalise


class _Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def slug(self) -> str: ...


T = TypeVar("T", bound=_Named)

__all__ = ["TeachingConstraints", "parse_constraints", "question_violations", "text_violations"]


class TeachingConstraints(Camel):
    exclude_how_to: bool = False
    purpose_only: bool = False
    identification_only: bool = False
    no_calculations: bool = False
    specific_scope: list[str] = Field(default_factory=list, max_length=12)

    @property
    def allows_procedures(self) -> bool:
        return not (self.exclude_how_to or self.purpose_only or self.identification_only)

    @property
    def allows_calculations(self) -> bool:
        return not self.no_calculations

    def scoped(self, focus: Sequence[T], related: Sequence[T]) -> tuple[list[T], list[T]]:
        """Focus and related concepts within the scope. A scope naming none of them is
        about aspects, not concepts, and leaves both whole; focus is never emptied."""
        named = [c for c in (*focus, *related) if self.in_scope(c.name, c.slug)]
        if not named:
            return list(focus), list(related)
        kept = [c for c in focus if self.in_scope(c.name, c.slug)]
        return kept or list(focus), [c for c in related if self.in_scope(c.name, c.slug)]

    def join(self, other: TeachingConstraints) -> TeachingConstraints:
        """Both sets of constraints: a constraint either side holds."""
        scope = list(dict.fromkeys([*self.specific_scope, *other.specific_scope]))[:12]
        return TeachingConstraints(
            exclude_how_to=self.exclude_how_to or other.exclude_how_to,
            purpose_only=self.purpose_only or other.purpose_only,
            identification_only=self.identification_only or other.identification_only,
            no_calculations=self.no_calculations or other.no_calculations,
            specific_scope=scope,
        )

    def in_scope(self, *names: str) -> bool:
        """Whether any of ``names`` falls within the specific scope (always, without one)."""
        if not self.specific_scope:
            return True
        return any(_starts(term, name) for term in self.specific_scope for name in names)


def _words(text: str) -> list[str]:
    return [w.removesuffix("s") for w in re.split(r"[\s-]+", normalise(text)) if w]


def _starts(term: str, name: str) -> bool:
    """Word-wise, one begins the other: "radial" names "radial circuit", "ring final
    circuits" names "ring final circuit", but "final circuit" does not name "ring final"."""
    a, b = _words(term), _words(name)
    shorter = min(len(a), len(b))
    return shorter > 0 and a[:shorter] == b[:shorter]


_HOW_TO = re.compile(
    r"not how to|not the how[- ]to|no how[- ]to|exclude how[- ]to|without (the )?how[- ]to|"
    r"what .+ (is|are) (used )?for"
)
_PURPOSE = re.compile(r"\bpurpose\b")
_IDENTIFY = re.compile(r"\bidentif(y|ying|ication)\b|\brecogni[sz]e\b")
_NO_CALC = re.compile(
    r"\bno (math|maths|calculations?|arithmetic|formulas?)\b|\bconcepts only\b|"
    r"\bwithout (math|maths|calculations?)\b|\bnon-?mathematical\b"
)
_SCOPE = re.compile(r"\b(?:only|limited to|restricted to|scope:?|just)\s+(?P<terms>[^.;()]+)")
_NOT_PROCEDURES = re.compile(r"not (the )?(procedures?|steps|how)")


def _scope_terms(text: str) -> list[str]:
    match = _SCOPE.search(text)
    if match is None:
        return []
    terms = re.split(r",\s*|\s+and\s+|\s+or\s+", match["terms"])
    cleaned = [re.sub(r"^(the|a|an)\s+", "", t.strip()) for t in terms]
    return [t for t in cleaned if t and t not in {"concepts", "purpose", "what"}]


def parse_constraints(must_have_topics: Sequence[str]) -> TeachingConstraints:
    exclude = purpose = identify = no_calc = False
    scope: list[str] = []
    for raw in must_have_topics:
        text = normalise(raw)
        if _NO_CALC.search(text):
            no_calc = True
        if _IDENTIFY.search(text) and (_NOT_PROCEDURES.search(text) or "only" in text):
            identify = True
        elif _PURPOSE.search(text) and (_NOT_PROCEDURES.search(text) or "only" in text):
            purpose = True
        elif _HOW_TO.search(text):
            exclude = True
        elif not _NO_CALC.search(text):
            scope += _scope_terms(text)
    return TeachingConstraints(
        exclude_how_to=exclude,
        purpose_only=purpose,
        identification_only=identify,
        no_calculations=no_calc,
        specific_scope=list(dict.fromkeys(scope))[:12],
    )


# what breaks a constraint ------------------------------------------------------------------
_HOW_TO_TEXT = re.compile(
    r"\bhow (do|would|should|can) you\b|\bwhat steps\b|\bwhich steps\b|\bin what order\b|"
    r"\bfirst step\b|\bnext step\b|\bstep \d+\b|\bthe steps (are|to)\b|\bcommands? to\b|"
    r"\bprocedure (is|for)\b|\bcarry out\b"
)
_CALC_TEXT = re.compile(r"\bcalculat(e|ion|ing)\b|\bwork out\b|\bcompute\b|\bformula\b|=")


def text_violations(text: str, constraints: TeachingConstraints) -> list[str]:
    """Which constraints a piece of lesson text breaks (empty: none)."""
    found = []
    plain = normalise(text)
    if not constraints.allows_procedures and _HOW_TO_TEXT.search(plain):
        found.append("procedural (how-to) content where the constraints exclude it")
    if constraints.no_calculations and _CALC_TEXT.search(plain):
        found.append("calculation content under noCalculations")
    return found


def question_violations(q: Question, constraints: TeachingConstraints) -> list[str]:
    found = text_violations(q.question_text, constraints)
    if constraints.no_calculations and q.answer_type is AnswerType.CALCULATION:
        found.append("a calculation question under noCalculations")
    return found
