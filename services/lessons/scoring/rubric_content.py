"""Rubric checks of teaching content: pedagogy (30 points) and questions (25 points)."""

from __future__ import annotations

import re

from events.lessons import ScoreCategory, ScoreDetail, SuggestedFix
from services.lessons.constraints import parse_constraints, question_violations, text_violations
from services.lessons.contract import AnswerType, BlockType, Lesson, OutcomeLevel
from services.lessons.scoring.walk import (
    SENTENCE,
    detail,
    explanations,
    numbered,
    questions,
    taught,
)
from services.lessons.text import acronyms, appears_in, normalise, word_count

__all__ = ["pedagogy", "questions_category"]

C = ScoreCategory


# pedagogy -----------------------------------------------------------------------------------
def pedagogy(lesson: Lesson) -> list[ScoreDetail]:
    out = []
    outcomes = [o for b in lesson.of_type(BlockType.OUTCOMES) for o in b.content.outcomes]
    missing = sorted(set(OutcomeLevel) - {o.level for o in outcomes})
    issues = [f"no learning outcome at the {m.value} level" for m in missing]
    if not 3 <= len(outcomes) <= 4:
        issues.append(f"{len(outcomes)} learning outcomes; write 3-4")
    out.append(
        detail(
            C.PEDAGOGY,
            "learning outcomes cover remember, understand, apply",
            5,
            2 * len(missing) + (1 if not 3 <= len(outcomes) <= 4 else 0),
            issues,
            [
                f"Add an outcome at the {m.value} level to blocks[0].content.outcomes"
                for m in missing
            ],
        )
    )
    vocab_i = next((i for i, b, _ in numbered(lesson) if b.type is BlockType.VOCAB), 1)
    terms = [t for b in lesson.of_type(BlockType.VOCAB) for t in b.content.terms]
    issues = [] if 4 <= len(terms) <= 6 else [f"{len(terms)} vocabulary terms; define 4-6"]
    short = [t.term for t in terms if word_count(t.definition) < 4]
    issues += [f"term {t!r} has no real definition" for t in short]
    out.append(
        detail(
            C.PEDAGOGY,
            "vocabulary: 4-6 defined terms",
            4,
            (2 if not 4 <= len(terms) <= 6 else 0) + len(short),
            issues,
            [f"Define every term in blocks[{vocab_i}].content.terms in one sentence"]
            if issues
            else [],
        )
    )
    expl = explanations(lesson)
    words = sum(word_count(t) for _, t in expl)
    outside = max(400 - words, words - 600, 0)
    out.append(
        detail(
            C.PEDAGOGY,
            "explanation is 400-600 words",
            6,
            min(6, -(-outside // 25)),
            [f"the explanation has {words} words"] if outside else [],
            [
                f"{'Extend' if words < 400 else 'Shorten'} blocks[{expl[-1][0]}].content.content "
                f"by about {outside} words"
            ]
            if outside
            else [],
        )
    )
    whole = "\n".join(t for _, t in expl)
    unused = [t for t in terms if not appears_in(t.term, whole)]
    last = expl[-1][0]
    fixes = [
        SuggestedFix(
            path=f"blocks[{last}].content.content",
            op="append_text",
            value=f"**{t.term}**: {t.definition}",
        )
        for t in unused
    ]
    out.append(
        detail(
            C.PEDAGOGY,
            "every vocabulary term is used in the explanation",
            5,
            len(unused),
            [f"term {t.term!r} is never used in the explanation" for t in unused],
            [f"Append to {f.path}: {f.value!r}" for f in fixes],
            fixes,
        )
    )
    out.append(_constraints(lesson))
    calc_questions = [
        p for p, _, _, q in questions(lesson) if q.answer_type is AnswerType.CALCULATION
    ]
    issues = []
    if calc_questions and not lesson.of_type(BlockType.WORKED_EXAMPLE):
        issues.append(f"{len(calc_questions)} calculation question(s) but no worked example")
    for b in lesson.of_type(BlockType.WORKED_EXAMPLE):
        if len(b.content.steps) < 2:
            issues.append("the worked example has fewer than 2 steps")
    out.append(
        detail(
            C.PEDAGOGY,
            "worked example supports what is practised",
            4,
            2 * len(issues),
            issues,
            ["Add a worked example before the calculation questions, or ask conceptual ones"]
            if issues
            else [],
        )
    )
    return out


def _constraints(lesson: Lesson) -> ScoreDetail:
    constraints = parse_constraints(lesson.metadata.must_have_topics)
    issues, suggestions, fixes = [], [], []
    for i, b, _ in numbered(lesson):
        if b.type is BlockType.EXPLANATION:
            text = b.content.content
            bad = [s for s in SENTENCE.split(text) if text_violations(s, constraints)]
            if bad:
                issues.append(
                    f"blocks[{i}].content.content: {text_violations(bad[0], constraints)[0]}"
                )
                kept = " ".join(s for s in SENTENCE.split(text) if s not in bad)
                fix = SuggestedFix(path=f"blocks[{i}].content.content", value=kept)
                fixes.append(fix)
                suggestions.append(f"Remove from {fix.path}: {bad[0][:120]!r}")
        if b.type is BlockType.WORKED_EXAMPLE:
            steps = " ".join(s.description for s in b.content.steps)
            if b.content.kind == "calculation" and constraints.no_calculations:
                issues.append(f"blocks[{i}]: a worked calculation under noCalculations")
            elif b.content.kind == "procedure" and not constraints.allows_procedures:
                issues.append(f"blocks[{i}]: a worked procedure where how-to is excluded")
            issues += [f"blocks[{i}]: {v}" for v in text_violations(steps, constraints)[:1]]
    for path, _, _, q in questions(lesson):
        for v in question_violations(q, constraints)[:1]:
            issues.append(f"{path}: {v}")
            suggestions.append(
                f"Rewrite {path}.questionText to ask about purpose or identification"
            )
    return detail(
        C.PEDAGOGY, "teaching constraints honoured", 6, 2 * len(issues), issues, suggestions, fixes
    )


# questions ----------------------------------------------------------------------------------
def _hint_for(answer: str, texts: list[str]) -> str | None:
    for text in texts:
        for s in SENTENCE.split(text):
            if appears_in(answer, s):
                head = " ".join(re.sub(r"[*`]", "", s).split()[:8])
                return f'Look again at the sentence beginning "{head}".'
    return None


def questions_category(lesson: Lesson) -> list[ScoreDetail]:
    out = []
    issues = []
    for i, b, _ in numbered(lesson):
        count = len(getattr(b.content, "questions", []) or [])
        bounds = {
            BlockType.CHECK: (2, 4),
            BlockType.PRACTICE: (4, 6),
            BlockType.INTEGRATIVE: (2, 3),
        }.get(b.type)
        if bounds and not bounds[0] <= count <= bounds[1]:
            issues.append(
                f"blocks[{i}] has {count} questions; the contract says {bounds[0]}-{bounds[1]}"
            )
    out.append(
        detail(
            C.QUESTIONS,
            "question counts (checks 2-4, practice 4-6, integration 2-3)",
            6,
            2 * len(issues),
            issues,
            [f"Adjust: {x}" for x in issues],
        )
    )
    expl = dict(
        (n, (i, b.content.content))
        for i, b, n in numbered(lesson)
        if b.type is BlockType.EXPLANATION
    )
    issues, suggestions, fixes = [], [], []
    for path, b, n, q in questions(lesson):
        if b.type is not BlockType.CHECK or n not in expl:
            continue
        text = expl[n][1]
        if appears_in(q.expected_answer[0], text):
            continue
        issues.append(
            f"{path}.expectedAnswer {q.expected_answer[0]!r} is not in the explanation before it"
        )
        present = [a for a in q.expected_answer if appears_in(a, text)]
        if present:
            value = [present[0], *[a for a in q.expected_answer if a != present[0]]]
            fixes.append(SuggestedFix(path=f"{path}.expectedAnswer", value=value))
            suggestions.append(f"Change {path}.expectedAnswer to {value!r}")
        else:
            suggestions.append(
                f"State {q.expected_answer[0]!r} in blocks[{expl[n][0]}].content.content"
            )
    out.append(
        detail(
            C.QUESTIONS,
            "check answers appear in their explanation",
            7,
            2 * len(issues),
            issues,
            suggestions,
            fixes,
        )
    )
    known = acronyms(taught(lesson))
    issues = []
    for path, b, _, q in questions(lesson):
        if b.type is BlockType.SPACED_REVIEW:
            continue  # revisits earlier lessons' vocabulary
        untaught = sorted(acronyms(q.question_text) - known)
        if untaught:
            issues.append(f"{path}.questionText uses untaught {untaught}")
    out.append(
        detail(
            C.QUESTIONS,
            "questions use only taught vocabulary",
            6,
            2 * len(issues),
            issues,
            [f"Define the term in the vocabulary block or the explanation: {x}" for x in issues],
        )
    )
    seen: dict[str, str] = {}
    issues = []
    for path, _, _, q in questions(lesson):
        key = normalise(q.question_text)
        if key in seen:
            issues.append(f"{path} repeats {seen[key]}")
        seen.setdefault(key, path)
    out.append(
        detail(
            C.QUESTIONS,
            "questions are distinct",
            3,
            len(issues),
            issues,
            [f"Ask something new in {x.split(' ')[0]}" for x in issues],
        )
    )
    texts = [t for _, t in explanations(lesson)]
    issues, fixes = [], []
    for path, b, _, q in questions(lesson):
        if b.type in (BlockType.CHECK, BlockType.PRACTICE) and not q.hint:
            issues.append(f"{path} has no hint")
            hint = _hint_for(q.expected_answer[0], texts)
            if hint:
                fixes.append(SuggestedFix(path=f"{path}.hint", value=hint))
    out.append(
        detail(
            C.QUESTIONS,
            "checks and practice give hints",
            3,
            0.5 * len(issues),
            issues,
            [f"Set {f.path} to {f.value!r}" for f in fixes],
            fixes,
        )
    )
    return out
