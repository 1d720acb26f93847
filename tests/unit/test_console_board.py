"""The console's board: GNU Backgammon position ids decoded and encoded, and drawn as SVG."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api.console.board import (
    BAR,
    CHECKERS,
    STARTING_POSITION,
    Board,
    PositionIdError,
    decode_position_id,
    encode_position_id,
)
from services.api.console.board_svg import describe_board, render_board_svg

pytestmark = pytest.mark.unit

SVG = "{http://www.w3.org/2000/svg}"


def side(**points: int) -> tuple[int, ...]:
    """25 counts from ``p6=5, bar=1``-style keywords (points of the side's owner)."""
    counts = [0] * 25
    for name, n in points.items():
        counts[BAR if name == "bar" else int(name[1:]) - 1] = n
    return tuple(counts)


START = side(p6=5, p8=3, p13=5, p24=2)
# A bear-off: white (on roll) has 8 checkers home and 7 off, black 4 left and 11 off.
BEAROFF = Board(on_roll=side(p1=2, p2=3, p4=2, p6=1), opponent=side(p1=1, p3=2, p5=1))


def test_the_starting_position() -> None:
    board = decode_position_id(STARTING_POSITION)
    assert board.on_roll == START and board.opponent == START
    assert board.on_roll_off == board.opponent_off == 0
    assert board.pip_counts == (167, 167)
    # seen from the player on roll: their 24, 13, 8 and 6; the opponent's on 1, 12, 17, 19
    assert [board.at(p) for p in (24, 13, 8, 6)] == [(2, 0), (5, 0), (3, 0), (5, 0)]
    assert [board.at(p) for p in (1, 12, 17, 19)] == [(0, 2), (0, 5), (0, 3), (0, 5)]
    assert encode_position_id(board) == STARTING_POSITION


def test_the_player_not_on_roll_comes_first_in_the_key() -> None:
    """gnubg's id after 8/5 6/5 from the start (read from gnubg 1.07): the mover is now
    the opponent, and theirs are the first 40 bits."""
    board = decode_position_id("sGfwATDgc/ABMA")
    assert board.opponent == side(p5=2, p6=4, p8=2, p13=5, p24=2)
    assert board.on_roll == START
    assert board.at(20) == (0, 2) and board.at(19) == (0, 4)


def test_a_bear_off_position_round_trips() -> None:
    position_id = encode_position_id(BEAROFF)
    assert len(position_id) == 14
    board = decode_position_id(position_id)
    assert board == BEAROFF
    assert (board.on_roll_off, board.opponent_off) == (7, 11)
    assert board.pip_counts == (2 + 6 + 8 + 6, 1 + 6 + 5)
    assert board.at(24) == (0, 1) and board.at(22) == (0, 2) and board.at(20) == (0, 1)


@pytest.mark.parametrize(
    ("position_id", "reason"),
    [
        ("4HPwATDgc/AB", "expected 14 characters"),
        ("4HPwATDgc/AB!A", "not base64"),
        ("4HPwATDgc/ABMB", "not the canonical spelling"),  # same key, stray low bits
        ("/////////////w", "more than 15 checkers"),  # 80 ones
        # one checker each on point 24 of the player on roll (the opponent's 1)
        (None, "both players have checkers on point 24"),
    ],
)
def test_ids_that_describe_no_position_are_refused(position_id: str | None, reason: str) -> None:
    if position_id is None:
        position_id = raw_id([1, 0] + [0] * 24 + [0] * 23 + [1, 0, 0])
    with pytest.raises(PositionIdError, match=reason) as caught:
        decode_position_id(position_id)
    assert caught.value.position_id == position_id


def raw_id(bits: list[int]) -> str:
    """An id from key bits as written (opponent's side first), unchecked."""
    bits = bits + [0] * (80 - len(bits))
    key = bytes(sum(bits[8 * i + j] << j for j in range(8)) for i in range(10))
    return base64.b64encode(key).decode().rstrip("=")


def test_an_all_zero_key_is_a_finished_game_not_an_error() -> None:
    """Zero bits are 'next point' marks only: 80 zeros end both sides with 15 off each
    after 50 bits, and the padding is zero."""
    board = decode_position_id(encode_position_id(Board(side(), side())))
    assert board.on_roll_off == board.opponent_off == CHECKERS


@st.composite
def boards(draw: st.DrawFn) -> Board:
    mine = [0] * 25
    for slot in draw(st.lists(st.integers(0, 24), max_size=CHECKERS)):
        mine[slot] += 1
    # the opponent's point j is ours 25 - j: free when we have none there
    free = [BAR] + [j - 1 for j in range(1, 25) if mine[24 - j] == 0]
    theirs = [0] * 25
    for slot in draw(st.lists(st.sampled_from(free), max_size=CHECKERS)):
        theirs[slot] += 1
    return Board(on_roll=tuple(mine), opponent=tuple(theirs))


@given(boards())
def test_decoding_inverts_encoding(board: Board) -> None:
    assert decode_position_id(encode_position_id(board)) == board


@given(st.binary(min_size=10, max_size=10))
def test_any_key_decodes_to_its_own_id_or_is_refused(key: bytes) -> None:
    position_id = base64.b64encode(key).decode().rstrip("=")
    try:
        board = decode_position_id(position_id)
    except PositionIdError:
        return
    assert encode_position_id(board) == position_id


# the drawing --------------------------------------------------------------------------------
def checkers(svg: str, fill: str) -> int:
    root = ET.fromstring(svg)
    return sum(1 for c in root.iter(f"{SVG}circle") if c.get("fill") == fill and c.get("r") == "16")


def test_the_starting_position_is_drawn_with_every_checker_and_the_dice() -> None:
    svg = render_board_svg(decode_position_id(STARTING_POSITION), (3, 1), dom_id="d0")
    root = ET.fromstring(svg)  # well-formed
    assert root.get("role") == "img" and root.get("aria-labelledby") == "d0-title d0-desc"
    assert checkers(svg, "#f7f2e6") == 15 and checkers(svg, "#2f2f35") == 15
    dice = [g.get("data-value") for g in root.iter(f"{SVG}g") if g.get("class") == "die"]
    assert dice == ["3", "1"]
    assert len(list(root.iter(f"{SVG}polygon"))) == 24
    assert "White (bottom) on roll, to play 3-1" in svg
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    assert desc.text.startswith("White is on roll to play 3-1. White: 2 on 24, 5 on 13, 3 on 8")
    assert "Black: 5 on 19, 3 on 17, 5 on 12, 2 on 1" in desc.text


def test_a_bear_off_shows_the_trays_and_tall_stacks_show_their_count() -> None:
    svg = render_board_svg(BEAROFF, (6, 5))
    assert "7 off" in svg and "11 off" in svg
    tall = Board(on_roll=side(p6=9, bar=2), opponent=side(p1=15))
    drawn = render_board_svg(tall, None)
    texts = [t.text for t in ET.fromstring(drawn).iter(f"{SVG}text")]
    assert "9" in texts and "15" in texts and "2" in texts  # stacks of 9 and 15, two on the bar
    assert checkers(drawn, "#f7f2e6") == 5 + 1  # five shown of nine, one marker on the bar
    assert "2 on the bar" in describe_board(tall)
    assert re.search(r"White: 9 on 6, 2 on the bar; 4 borne off", describe_board(tall))
