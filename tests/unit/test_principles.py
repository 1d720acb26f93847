"""The principles pack: it loads, defines every drill tag, orders its curriculum by phase,
travels in a batch's context, and a bad pack names the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.drills import BatchContext, BatchPrompts, GamePhase, Principle
from services.drills.drills import principle_of
from services.drills.principles import Teaching
from services.drills.principles_pack import (
    DEFAULT_PACK,
    PrinciplesError,
    load_principles,
    shipped_principles,
)

pytestmark = pytest.mark.unit

SHIPPED = DEFAULT_PACK.read_text("utf-8")
TAUGHT = {
    "point-making",
    "hitting",
    "running",
    "splitting",
    "building",
    "bearing-off",
    "entering",
    "priming",
    "anchoring",
    "safe-play",
    "bold-play",
    "racing",
}


def test_the_shipped_pack_defines_every_principle_a_drill_can_be_tagged_with() -> None:
    pack = shipped_principles()
    slugs = {p.slug for p in pack.principles}
    assert {p.value for p in Principle} <= slugs
    assert slugs >= TAUGHT  # and what the issue names beyond the tags
    for p in pack.principles:
        assert p.definition.endswith(".") and p.applies_when, p.slug
    assert pack.ref == "backgammon-principles@v1"
    assert shipped_principles() is pack  # loaded once


moves = st.lists(
    st.tuples(
        st.one_of(st.just("bar"), st.integers(1, 24).map(str)),
        st.one_of(st.just("off"), st.integers(1, 24).map(str)),
        st.booleans(),
        st.sampled_from(["", "(2)", "(3)", "(4)"]),
    ),
    min_size=1,
    max_size=4,
).map(lambda steps: " ".join(f"{a}/{b}{'*' if hit else ''}{n}" for a, b, hit, n in steps))


@given(moves)
def test_any_play_is_tagged_with_a_principle_the_pack_defines(move: str) -> None:
    entry = shipped_principles().entry(principle_of(move).value)
    assert entry.definition and entry.applies_when


def test_the_curriculum_orders_the_principles_by_phase() -> None:
    pack = shipped_principles()
    assert [s.phase for s in pack.curriculum] == list(GamePhase)
    taught = {slug for s in pack.curriculum for slug in s.principles}
    assert taught == {p.slug for p in pack.principles}
    opening = next(s for s in pack.curriculum if s.phase is GamePhase.OPENING)
    assert opening.principles[0] == "point-making" and "bearing-off" not in opening.principles
    bearoff = next(s for s in pack.curriculum if s.phase is GamePhase.BEAROFF)
    assert bearoff.principles[0] == "bearing-off"


def test_a_series_teaches_its_phases_in_curriculum_order_plus_every_tag() -> None:
    teaching = shipped_principles().teaching([GamePhase.BEAROFF, GamePhase.OPENING])
    assert [s.phase for s in teaching.stages] == [GamePhase.OPENING, GamePhase.BEAROFF]
    order = [p.slug for p in teaching.principles]
    staged = [slug for s in teaching.stages for slug in dict.fromkeys(s.principles)]
    assert order[: len(set(staged))] == list(dict.fromkeys(staged))
    assert {p.value for p in Principle} <= set(order)
    assert "priming" not in order  # a middle-game principle


def test_the_teaching_travels_in_a_batch_context_and_reads_back() -> None:
    teaching = shipped_principles().teaching([GamePhase.MIDDLE])
    context = BatchContext(
        mental_model=teaching.mental_model(),
        curriculum={**teaching.curriculum(), "context_tokens": 10},
        prompts=BatchPrompts(system_prompt="s", user_prompt_template="drill-batch@v2"),
    )
    wire = BatchContext.model_validate_json(context.model_dump_json())
    back = Teaching.from_context(wire.mental_model, wire.curriculum)
    assert back == teaching
    assert Teaching.from_context({"phases": ["MIDDLE"]}, {"target_drills": 5}) is None


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "backgammon" / "principles.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    with pytest.raises(PrinciplesError) as caught:
        load_principles(path)
    return [str(p) for p in caught.value.problems]


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return n
    raise AssertionError(f"{needle!r} not in the text")


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "principles: [priming, blitzing,",
            "principles: [prime, blitzing,",
            "principles: [prime",
            "curriculum[2].principles[0]: 'prime' is not a principle of this pack",
        ),
        (
            "  - slug: timing",
            "  - slug: racing",
            "  - slug: racing",
            "principles[14].slug: 'racing' is already defined in principles[12]",
        ),
        (
            "    contrasts: [blitzing]",
            "    contrasts: [priming]",
            "    contrasts: [priming]",
            "principles[7].contrasts[0]: 'priming' is the principle itself",
        ),
        (
            "    name: Hitting\n",
            "    name: Hitting\n    colour: red\n",
            "    colour: red",
            "principles[1].colour: Extra inputs are not permitted",
        ),
        (
            "  - phase: EARLY",
            "  - phase: ENDGAME",
            "  - phase: ENDGAME",
            "curriculum[1].phase: Input should be 'OPENING', 'EARLY', 'MIDDLE' or 'BEAROFF'",
        ),
        (
            "  - phase: EARLY",
            "  - phase: MIDDLE",
            "  - phase: MIDDLE",
            "curriculum[2].phase: MIDDLE must come once, in game order",
        ),
        (
            "  - slug: slotting",
            "  - slug: Slotting",
            "  - slug: Slotting",
            "principles[9].slug: String should match pattern",
        ),
    ],
)
def test_each_mistake_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, needle: str, expected: str
) -> None:
    assert old in SHIPPED
    text = SHIPPED.replace(old, new, 1)
    occurrence = 2 if needle == "  - phase: MIDDLE" or needle == "  - slug: racing" else 1
    line = _line_of(text, needle, occurrence)
    found = _problems(tmp_path, text)
    assert any(p.startswith(f"backgammon/principles.yaml:{line}: {expected}") for p in found), (
        line,
        found,
    )


def test_a_pack_missing_a_drill_tag_or_teaching_nothing_for_a_principle_is_refused(
    tmp_path: Path,
) -> None:
    start = SHIPPED.index("  - slug: entering")
    end = SHIPPED.index("  - slug: priming")
    without = SHIPPED[:start] + SHIPPED[end:]
    for stage in ("entering, ", "entering,"):
        without = without.replace(stage, "")
    found = _problems(tmp_path, without)
    line = _line_of(without, "principles:")
    assert (
        f"backgammon/principles.yaml:{line}: principles: no principle 'entering': drills are "
        "tagged with it" in found
    )
    untaught = SHIPPED.replace(", timing]", "]")
    found = _problems(tmp_path, untaught)
    assert any("principles[14].slug: 'timing' is taught in no curriculum stage" in p for p in found)


def test_a_missing_stage_bad_yaml_and_a_missing_file_are_named(tmp_path: Path) -> None:
    cut = SHIPPED[: SHIPPED.index("  - phase: BEAROFF")]
    found = _problems(tmp_path, cut.replace("bearing-off, ", ""))
    assert any(p.endswith("curriculum: no stage for the BEAROFF phase") for p in found), found
    assert any("'bearing-off' is taught in no curriculum stage" in p for p in found)
    (bad,) = _problems(tmp_path, "pack: x\nprinciples: [a, b\n")
    assert bad.startswith("backgammon/principles.yaml:3: not valid YAML")
    with pytest.raises(PrinciplesError, match="cannot read"):
        load_principles(tmp_path / "nowhere" / "principles.yaml")


def test_the_pack_the_family_loads_can_be_moved_and_a_missing_one_says_how_to_find_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = tmp_path / "principles.yaml"
    moved.write_text(SHIPPED.replace("version: 1", "version: 7", 1))
    monkeypatch.setenv("NLS_DRILL_PRINCIPLES_PACK", str(moved))
    assert shipped_principles().ref == "backgammon-principles@v7"
    monkeypatch.setenv("NLS_DRILL_PRINCIPLES_PACK", str(tmp_path / "gone.yaml"))
    with pytest.raises(PrinciplesError, match="set NLS_DRILL_PRINCIPLES_PACK"):
        shipped_principles()
