"""Scoring step 2 with rules: what can be checked, over the seed's six categories.

Each check costs points within its category and, when it finds something,
says where (exact JSON paths) and how to fix it; where the fix is mechanical
it comes as a ``SuggestedFix`` that Phase 10's rules rewrite applies. Points:

- schemaCompliance 15: block ids 5, question ids 4, lesson metadata 2, contract orders 4;
- pedagogy 30: outcomes 5, vocabulary 4, explanation length 6, vocabulary used 5,
  teaching constraints 6, worked example where calculations are asked 4;
- questions 25: counts 6, check answers in their explanation 7, only taught
  vocabulary 6, distinct questions 3, hints 3;
- markingRobustness 10: answer types consistent 4, accepted variants for long
  answers 4, numeric calculation answers 2;
- visual 5: a split-vis lesson has its diagram 3 and refers to it 2;
- safety 5: an electrical-installation lesson carries a safety callout.
"""

from __future__ import annotations

from events.lessons import ScoreDetail
from services.lessons.contract import Lesson
from services.lessons.scoring.rubric_content import pedagogy, questions_category
from services.lessons.scoring.rubric_form import marking, safety, schema, visual

__all__ = ["rubric_details"]


def rubric_details(lesson: Lesson) -> list[ScoreDetail]:
    """Every check of step 2, in category order (full marks included)."""
    return [
        *schema(lesson),
        *pedagogy(lesson),
        *questions_category(lesson),
        *marking(lesson),
        *visual(lesson),
        *safety(lesson),
    ]
