"""The deterministic checks and the score: every deduction names its item and check."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from events.courses import (
    SCORE_WEIGHTS,
    Course,
    CourseSpec,
    DraftGroup,
    DraftItem,
    ItemMode,
    ScoreBreakdown,
)
from services.courses.checks import check_candidate
from services.courses.scoring import Review, needs_improvement, review_of_checks, score
from tests.support.courses import draft

pytestmark = pytest.mark.unit

SPEC = CourseSpec(subject="math", grade=3, groups=1, items_per_group=2)
PERFECT = Review(clarity=1, age_fit=1, correctness=1)


def numeric(text: str, answer: str, **kw: object) -> DraftItem:
    return DraftItem(text=text, mode="numeric", answer=answer, **kw)  # type: ignore[arg-type]


def options(text: str, choices: list[str], key: int, **kw: object) -> DraftItem:
    return DraftItem(text=text, mode="options", options=choices, correct_index=key, **kw)  # type: ignore[arg-type]


def issues(course: object, spec: CourseSpec = SPEC) -> list[str]:
    report = check_candidate(course, spec)  # type: ignore[arg-type]
    return [str(d) for d in report.deductions]


def test_the_seeds_weights() -> None:
    assert SCORE_WEIGHTS == {
        "schema_validity": 0.30,
        "placeholders": 0.20,
        "mode_constraints": 0.20,
        "consistency": 0.15,
        "self_review": 0.15,
    }
    only_schema_lost = ScoreBreakdown(
        schema_validity=0, placeholders=1, mode_constraints=1, consistency=1, self_review=1
    )
    assert only_schema_lost.weighted_total() == pytest.approx(0.70)


def test_a_sound_course_scores_full_marks() -> None:
    course = draft(numeric("7 + 5 = [blank]", "12"), options("9 - 4 = _", ["5", "4", "6"], 0))
    report = check_candidate(course, SPEC)
    card = score(report, PERFECT)
    assert report.deductions == () and report.valid
    assert card.score == pytest.approx(1.0)
    assert report.math_checked == 2 and report.math_wrong == 0


def test_placeholder_only_items_are_caught() -> None:
    found = issues(draft(numeric("[blank]", "3"), numeric("_ .", "4")))
    real = "only 0 character(s) of real content besides the placeholder (at least 3)"
    assert f"g1.i1: placeholders: {real}" in found
    assert "g1.i1: consistency.empty: the item is empty" in found
    assert any(i.startswith("g1.i2: placeholders: only 1 character(s)") for i in found)


def test_wrong_math_is_caught_naming_the_item() -> None:
    course = draft(
        numeric("7 + 5 = [blank]", "12"),
        options("Compute 6 x 7 = [blank]", ["42", "48", "36"], 1),
    )
    found = issues(course)
    assert found == ["g1.i2: consistency.math: 6 x 7 = 42, but the answer is 48"]
    report = check_candidate(course, SPEC)
    assert report.math_wrong == 1 and report.consistency == pytest.approx(0.25 + 0.75 * 0.5)


def test_a_story_item_is_checked_through_its_expression() -> None:
    story = numeric(
        "Mia has 7 shells and finds 5 more. How many now? [blank]", "13", expression="7 + 5"
    )
    assert issues(draft(story, numeric("2 + 2 = _", "4"))) == [
        "g1.i1: consistency.math: 7 + 5 = 12, but the answer is 13"
    ]


def test_a_distractor_that_is_also_right_is_caught() -> None:
    found = issues(
        draft(options("6 ÷ 4 = [blank]", ["1.5", "3/2", "2"], 0), numeric("1 + 1 = _", "2"))
    )
    assert found == ["g1.i1: consistency.math: option 1 '3/2' is also correct"]


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        (
            numeric("7 + 5 = [blank] or [blank]", "12"),
            "placeholders: needs exactly one placeholder ([blank] or _), found 2",
        ),
        (
            numeric("What is seven plus five?", "12"),
            "placeholders: needs exactly one placeholder ([blank] or _), found 0",
        ),
        (options("2 + 2 = _", ["4", "5"], 0), "modes: options mode needs 3-4 options, has 2"),
        (
            options("2 + 2 = _", ["4", "5", "6", "7", "8"], 0),
            "modes: options mode needs 3-4 options, has 5",
        ),
        (
            options("2 + 2 = _", ["4", "5", "6"], 3),
            "modes: correct_index 3 does not point at one of 3 options",
        ),
        (
            numeric("2 + 2 = _", "4", options=["4", "5", "6"]),
            "modes: numeric mode takes no options, has 3",
        ),
        (DraftItem(text="2 + 2 = _", mode="numeric"), "modes: numeric mode needs an answer"),
        (numeric("Say it: four is [blank]", "four"), "modes: answer 'four' is not a number"),
        (
            DraftItem(text="2 + 2 = _", mode="essay"),
            "schema: mode 'essay' is not options or numeric",
        ),
        (DraftItem(mode="numeric", answer="4"), "schema: the item has no text"),
        (options("2 + 2 = _", ["4", "4", "5"], 0), "consistency.duplicates: duplicate options"),
    ],
)
def test_each_broken_rule_is_named(item: DraftItem, problem: str) -> None:
    assert f"g1.i1: {problem}" in issues(draft(item, numeric("1 + 1 = _", "2")))


def test_underscores_inside_words_are_not_placeholders() -> None:
    assert (
        issues(
            draft(numeric("The ip_address field holds 10 + 2 = _", "12"), numeric("1 + 1 = _", "2"))
        )
        == []
    )


def test_only_the_modes_asked_for() -> None:
    spec = SPEC.model_copy(update={"modes": [ItemMode.OPTIONS]})
    found = issues(draft(numeric("2 + 2 = _", "4"), options("1 + 1 = _", ["2", "3", "4"], 0)), spec)
    assert found == ["g1.i1: modes: mode numeric was not asked for (options)"]


def test_the_shape_is_part_of_the_schema() -> None:
    course = draft(numeric("2 + 2 = _", "4"), title="")
    report = check_candidate(
        course, CourseSpec(subject="math", grade=3, groups=2, items_per_group=2)
    )
    found = [str(d) for d in report.deductions]
    assert "course: schema: the course has no title" in found
    assert "course: schema: 1 groups, expected 2" in found
    assert "g1: schema: 1 items, expected 2" in found
    # units: the course, one group, one item; two of them fail
    assert report.schema_validity == pytest.approx(1 - 2 / 3, abs=1e-4)


def test_uneven_item_lengths_cost_a_quarter_of_consistency() -> None:
    long = "Ava has 7 red apples in a basket and buys 5 more at the market. " * 3
    course = draft(
        numeric("1+1=_", "2"), numeric(f"{long}How many apples? [blank]", "12", expression="7 + 5")
    )
    report = check_candidate(course, SPEC)
    assert any(d.check == "consistency.length" and d.item == "course" for d in report.deductions)
    assert report.consistency == pytest.approx(0.75)


def test_the_same_item_twice_is_a_duplicate() -> None:
    found = issues(draft(numeric("2 + 2 = _", "4"), numeric("2  +  2 = _", "4")))
    assert found == ["g1.i2: consistency.duplicates: same text as g1.i1"]


def test_partial_credit_per_item() -> None:
    spec = CourseSpec(subject="math", grade=3, groups=1, items_per_group=4)
    course = draft(
        numeric("1 + 1 = _", "2"),
        numeric("2 + 2 = _", "4"),
        numeric("3 + 3 = _", "6"),
        numeric("[blank]", "8"),
    )
    report = check_candidate(course, spec)
    assert report.placeholders == pytest.approx(0.75)
    assert report.mode_constraints == pytest.approx(1.0)
    assert not report.valid


def test_the_rules_review_reads_the_checks_and_the_grade() -> None:
    easy = draft(
        numeric("Mia has 2 cats. She gets 3 more. How many cats? [blank]", "5", expression="2 + 3"),
        numeric("1 + 1 = _", "2"),
    )
    spec1 = CourseSpec(subject="math", grade=1, groups=1, items_per_group=2)
    assert review_of_checks(check_candidate(easy, spec1), spec1).age_fit == 1.0
    hard = draft(
        options(
            "Gateway Load Balancing Protocol distributes forwarding responsibilities among "
            "[blank] through virtual MAC address assignment.",
            ["active virtual forwarders", "standby routers", "designated routers"],
            0,
        ),
        options(
            "Administrative distance differentiates routing information sources: [blank].",
            ["yes", "no", "maybe"],
            0,
        ),
    )
    spec3 = CourseSpec(subject="ccna", grade=3, groups=1, items_per_group=2)
    review = review_of_checks(check_candidate(hard, spec3), spec3)
    assert review.age_fit < 0.5
    assert any("reads at grade" in n for n in review.notes)
    card = score(check_candidate(hard, spec3), review)
    assert any(i.startswith("course: self_review: age_fit") for i in card.issues)


def test_improvement_is_wanted_below_the_bar_or_on_a_hard_failure() -> None:
    sound = score(
        check_candidate(draft(numeric("1 + 1 = _", "2"), numeric("2 + 2 = _", "4")), SPEC), PERFECT
    )
    wrong = score(
        check_candidate(draft(numeric("1 + 1 = _", "3"), numeric("2 + 2 = _", "4")), SPEC), PERFECT
    )
    assert not needs_improvement(sound, 0.6)
    assert needs_improvement(wrong, 0.6) and wrong.score > 0.9
    assert needs_improvement(sound, 1.01)


def test_course_v2_refuses_what_breaks_its_rules() -> None:
    good = draft(numeric("1 + 1 = _", "2"), options("2 + 2 = [blank]", ["4", "5", "3"], 0))
    course = good.course(SPEC)
    assert isinstance(course, Course) and course.groups[0].items[1].correct_index == 0
    with pytest.raises(ValidationError, match="needs exactly one placeholder"):
        draft(numeric("1 + 1 = 2", "2")).course(SPEC)
    with pytest.raises(ValidationError, match="options must be distinct"):
        draft(options("2 + 2 = _", ["4", " 4", "5"], 0)).course(SPEC)
    with pytest.raises(ValidationError):
        DraftGroup(title="g", items=[DraftItem(text="x", mode="numeric", answer=object())])  # type: ignore[arg-type]


def test_numbers_as_answers_are_taken_as_text() -> None:
    assert DraftItem(text="1 + 1 = _", mode="numeric", answer=2).answer == "2"  # type: ignore[arg-type]
