"""Question makers the question phases share, each right by construction.

Every answer is a fact's value, a vocabulary term, a fact verbatim (true) or
with a related concept's value swapped in (false), or an exact calculation.
Values long enough to be phrased differently carry accepted variants.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from events.content import Fact
from events.lessons import MaterialConcept
from events.questions import CONCEPT
from services.lessons.calculations import WorkedCalculation
from services.lessons.contract import AnswerType, CognitiveLevel, Question, Term
from services.lessons.text import first_sentence, lower_first, normalise, sentence, short_variants

__all__ = [
    "FactRef",
    "asked",
    "calculation_question",
    "correction_question",
    "mcq_question",
    "recall_question",
    "rival_values",
    "term_question",
    "true_false_question",
    "unique_questions",
]


@dataclass(frozen=True, slots=True)
class FactRef:
    concept: MaterialConcept
    fact: Fact


def rival_values(ref: FactRef, others: Iterable[MaterialConcept]) -> list[tuple[str, str]]:
    """(concept name, value) of other concepts for the same attribute, distinct values."""
    out: dict[str, tuple[str, str]] = {}
    mine = normalise(ref.fact.value)
    for c in others:
        if c.slug == ref.concept.slug:
            continue
        for f in c.facts:
            if f.attribute == ref.fact.attribute and normalise(f.value) not in (mine, *out):
                out[normalise(f.value)] = (c.name, f.value)
    return list(out.values())


def asked(ref: FactRef) -> str:
    """The fact's own question (or the default one) about its concept."""
    return sentence(ref.fact.asked().replace(CONCEPT, ref.concept.name))


def recall_question(qid: str, ref: FactRef, *, level: CognitiveLevel, prefix: str = "") -> Question:
    return Question(
        id=qid,
        question_text=f"{prefix}{asked(ref)}",
        answer_type=AnswerType.SHORT_TEXT,
        expected_answer=short_variants(ref.fact.value),
        hint=f"Look back at what the lesson says about {ref.concept.name}'s {ref.fact.attribute}.",
        cognitive_level=level,
    )


def term_question(
    qid: str, term: Term, *, level: CognitiveLevel, stem: str = "Which term from this lesson means"
) -> Question:
    meaning = first_sentence(term.definition).rstrip(".")
    return Question(
        id=qid,
        question_text=f"{stem}: {meaning}?",
        answer_type=AnswerType.SHORT_TEXT,
        expected_answer=short_variants(term.term),
        hint="It is one of the lesson's vocabulary terms.",
        cognitive_level=level,
    )


def correction_question(
    qid: str, ref: FactRef, rival: tuple[str, str], *, level: CognitiveLevel, spot: bool = False
) -> Question:
    """Spot the error in a statement with another concept's value swapped in."""
    wrong = ref.fact.statement.replace(ref.fact.value, rival[1], 1)
    return Question(
        id=qid,
        question_text=(
            f'A colleague writes: "{wrong}" Correct it: {lower_first(asked(ref))}'
            if not spot
            else f'Which value is wrong in "{wrong}", and what should it be?'
        ),
        answer_type=AnswerType.SHORT_TEXT,
        expected_answer=short_variants(ref.fact.value),
        hint=f"{rival[1]} belongs to {rival[0]}, not to {ref.concept.name}.",
        cognitive_level=level,
    )


def mcq_question(
    qid: str, ref: FactRef, rivals: Sequence[tuple[str, str]], rng: random.Random
) -> Question | None:
    distractors = [v for _, v in rivals][:3]
    if len(distractors) < 2:
        return None
    options = [ref.fact.value, *distractors]
    rng.shuffle(options)
    return Question(
        id=qid,
        question_text=f"Choose the right option. {asked(ref)}",
        answer_type=AnswerType.MULTIPLE_CHOICE,
        expected_answer=[ref.fact.value],
        options=options,
        hint=f"Only one option belongs to {ref.concept.name}; the others belong to related ideas.",
        cognitive_level=CognitiveLevel.RECALL,
    )


def term_mcq(qid: str, term: Term, others: Sequence[Term], rng: random.Random) -> Question | None:
    distractors = [t.term for t in others if normalise(t.term) != normalise(term.term)][:3]
    if len(distractors) < 2:
        return None
    options = [term.term, *distractors]
    rng.shuffle(options)
    meaning = first_sentence(term.definition).rstrip(".")
    return Question(
        id=qid,
        question_text=f"Which term matches this description: {meaning}?",
        answer_type=AnswerType.MULTIPLE_CHOICE,
        expected_answer=[term.term],
        options=options,
        hint="Compare the description with each term's definition in the vocabulary.",
        cognitive_level=CognitiveLevel.CONNECTION,
    )


def true_false_question(qid: str, ref: FactRef, rival: tuple[str, str] | None) -> Question:
    if rival is None:
        statement, answer = ref.fact.statement, "true"
    else:
        statement, answer = ref.fact.statement.replace(ref.fact.value, rival[1], 1), "false"
    return Question(
        id=qid,
        question_text=f"True or false: {sentence(statement)}",
        answer_type=AnswerType.TRUE_FALSE,
        expected_answer=[answer],
        options=["true", "false"],
        hint=f"Check the lesson's statement about {ref.concept.name}'s {ref.fact.attribute}.",
        cognitive_level=CognitiveLevel.RECALL,
    )


def calculation_question(qid: str, calc: WorkedCalculation) -> Question:
    return Question(
        id=qid,
        question_text=calc.question,
        answer_type=AnswerType.CALCULATION,
        expected_answer=list(dict.fromkeys([calc.answer, *calc.variants]))[:8],
        hint=f"Use {calc.formula} as in the worked example.",
        cognitive_level=CognitiveLevel.APPLICATION,
    )


def unique_questions(questions: Iterable[Question]) -> Iterator[Question]:
    seen: set[str] = set()
    for q in questions:
        key = normalise(q.question_text)
        if key not in seen:
            seen.add(key)
            yield q
