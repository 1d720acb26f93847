"""GNU Backgammon position ids: decoding to checkers per point, and encoding back.

A position id is the base64 of an 80-bit key (14 characters, no padding). The
key is a bit string read from the least significant bit of each byte: for each
player, for each of that player's 24 points from their own ace point and then
their bar, as many 1s as checkers there and a 0. gnubg writes the player *not*
on roll first and the player on roll second (``gnubg.board()`` gives them in
that order, index 0 the ace point and 24 the bar); the manual's prose says the
opposite, but the engine is the ground truth (checked against gnubg 1.07: after
``8/5 6/5`` from the start, the mover's checkers come first in the new id).
Checkers neither on a point nor on the bar are borne off.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from events.errors import NlsError

__all__ = [
    "BAR",
    "CHECKERS",
    "POINTS",
    "STARTING_POSITION",
    "Board",
    "PositionIdError",
    "decode_position_id",
    "encode_position_id",
]

POINTS = 24
BAR = 24  # index of the bar in a side's 25 counts
CHECKERS = 15
KEY_BITS = 80
ID_LENGTH = 14
STARTING_POSITION = "4HPwATDgc/ABMA"


class PositionIdError(NlsError, ValueError):
    """A string that is not a GNU Backgammon position id; says why."""

    def __init__(self, position_id: str, reason: str) -> None:
        super().__init__(f"position id {position_id!r}: {reason}")
        self.position_id = position_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Board:
    """Checkers of both players, each side as its owner sees it.

    ``on_roll[i]`` is the player on roll's checkers on their point ``i + 1``
    (``on_roll[24]``: on the bar); ``opponent`` likewise from the opponent's side,
    so the opponent's point ``j`` is the player on roll's point ``25 - j``.
    """

    on_roll: tuple[int, ...]
    opponent: tuple[int, ...]

    def __post_init__(self) -> None:
        for name, side in (("on_roll", self.on_roll), ("opponent", self.opponent)):
            if len(side) != POINTS + 1:
                raise ValueError(f"{name} needs {POINTS + 1} counts, got {len(side)}")
            if any(n < 0 for n in side):
                raise ValueError(f"{name} has a negative count")
            if sum(side) > CHECKERS:
                raise ValueError(f"{name} has {sum(side)} checkers, more than {CHECKERS}")
        for point in range(1, POINTS + 1):
            if self.on_roll[point - 1] and self.opponent[POINTS - point]:
                raise ValueError(f"both players have checkers on point {point}")

    @property
    def on_roll_off(self) -> int:
        return CHECKERS - sum(self.on_roll)

    @property
    def opponent_off(self) -> int:
        return CHECKERS - sum(self.opponent)

    def at(self, point: int) -> tuple[int, int]:
        """(player on roll's checkers, opponent's checkers) on ``point`` (1-24), numbered
        from the player on roll's side."""
        if not 1 <= point <= POINTS:
            raise ValueError(f"point {point} is not 1-{POINTS}")
        return self.on_roll[point - 1], self.opponent[POINTS - point]

    @property
    def pip_counts(self) -> tuple[int, int]:
        """(player on roll, opponent): pips to bear everything off (the bar counts 25)."""

        def pips(side: tuple[int, ...]) -> int:
            return sum(n * (i + 1) for i, n in enumerate(side))

        return pips(self.on_roll), pips(self.opponent)


def _key_bits(position_id: str) -> list[int]:
    if len(position_id) != ID_LENGTH:
        raise PositionIdError(position_id, f"expected {ID_LENGTH} characters")
    try:
        key = base64.b64decode(position_id + "==", validate=True)
    except (binascii.Error, ValueError):
        raise PositionIdError(position_id, "not base64") from None
    if _id_of(key) != position_id:
        # the last character carries 4 bits past the key: only one spelling is gnubg's
        raise PositionIdError(position_id, "not the canonical spelling of its key")
    return [(key[i // 8] >> (i % 8)) & 1 for i in range(KEY_BITS)]


def _id_of(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii").rstrip("=")


def decode_position_id(position_id: str) -> Board:
    """The board a position id describes; ``PositionIdError`` when it describes none."""
    bits = _key_bits(position_id)
    sides: list[list[int]] = [[0] * (POINTS + 1), [0] * (POINTS + 1)]
    side = index = 0
    for bit in bits:
        if side == 2:
            if bit:
                raise PositionIdError(position_id, "bits set after both players' checkers")
            continue
        if bit:
            sides[side][index] += 1
            if sum(sides[side]) > CHECKERS:
                raise PositionIdError(position_id, f"more than {CHECKERS} checkers for a player")
            continue
        index += 1
        if index == POINTS + 1:
            side, index = side + 1, 0
    if side < 2:
        raise PositionIdError(position_id, "the key ends before both players' checkers")
    try:
        return Board(on_roll=tuple(sides[1]), opponent=tuple(sides[0]))
    except ValueError as exc:
        raise PositionIdError(position_id, str(exc)) from None


def encode_position_id(board: Board) -> str:
    """The position id of ``board`` (the inverse of ``decode_position_id``)."""
    bits: list[int] = []
    for side in (board.opponent, board.on_roll):
        for count in side:
            bits.extend([1] * count)
            bits.append(0)
    bits.extend([0] * (KEY_BITS - len(bits)))
    return _id_of(bytes(sum(bits[8 * i + j] << j for j in range(8)) for i in range(KEY_BITS // 8)))
