"""A backgammon board as SVG: points, checkers, bar, borne-off trays, dice, who is on roll.

Drawn from the point of view of the player on roll (the drills' view): their
home board bottom right (points 1-6), 7-12 bottom left, 13-18 top left, 19-24
top right; they move from 24 down to 1. White is the player on roll, black the
opponent. A stack taller than five shows five checkers and its count. The
drawing has a ``<title>`` and a ``<desc>`` listing every checker in words, so
a screen reader gets the position too. Pure: a string from a ``Board``.
"""

from __future__ import annotations

from html import escape

from services.api.console.board import BAR, POINTS, Board

__all__ = ["describe_board", "render_board_svg"]

W = 36  # point width
R = 16  # checker radius
BAR_W = 40
TRAY_W = 44
MARGIN = 24  # room for the point numbers
PLAY_H = 360
POINT_H = 150
HALF = 6 * W
LEFT = 10
BAR_X = LEFT + HALF
RIGHT = BAR_X + BAR_W
TRAY_X = RIGHT + HALF + 8
WIDTH = TRAY_X + TRAY_W + 10
TOP = MARGIN
BOTTOM = TOP + PLAY_H
HEIGHT = BOTTOM + MARGIN + 30
VISIBLE = 5

WHITE = ("#f7f2e6", "#6b5a3a", "#2b2b2b")  # fill, stroke, text on it
BLACK = ("#2f2f35", "#000000", "#ffffff")
POINT_FILL = ("#b5523b", "#d9c7a0")
# dice faces: pip positions on a 3x3 grid
_PIPS: dict[int, tuple[tuple[int, int], ...]] = {
    1: ((1, 1),),
    2: ((0, 0), (2, 2)),
    3: ((0, 0), (1, 1), (2, 2)),
    4: ((0, 0), (2, 0), (0, 2), (2, 2)),
    5: ((0, 0), (2, 0), (1, 1), (0, 2), (2, 2)),
    6: ((0, 0), (2, 0), (0, 1), (2, 1), (0, 2), (2, 2)),
}


def _point_x(point: int) -> float:
    """Centre x of a point (1-24) numbered from the player on roll's side."""
    if 1 <= point <= 6:
        return RIGHT + HALF - (point - 0.5) * W
    if 7 <= point <= 12:
        return LEFT + HALF - (point - 6 - 0.5) * W
    if 13 <= point <= 18:
        return LEFT + (point - 12 - 0.5) * W
    return RIGHT + (point - 18 - 0.5) * W


def _is_top(point: int) -> bool:
    return point >= 13


def _checker(x: float, y: float, colours: tuple[str, str, str], label: str = "") -> str:
    fill, stroke, text = colours
    out = (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{R}" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="1.5"/>'
    )
    if label:
        out += (
            f'<text x="{x:.1f}" y="{y + 5:.1f}" text-anchor="middle" font-size="14" '
            f'font-weight="bold" fill="{text}">{escape(label)}</text>'
        )
    return out


def _stack(x: float, count: int, top: bool, colours: tuple[str, str, str]) -> list[str]:
    parts = []
    shown = min(count, VISIBLE)
    for k in range(shown):
        offset = R + k * 2 * R + 1
        y = TOP + offset if top else BOTTOM - offset
        label = str(count) if count > VISIBLE and k == shown - 1 else ""
        parts.append(_checker(x, y, colours, label))
    return parts


def _points() -> list[str]:
    parts = []
    for point in range(1, POINTS + 1):
        x = _point_x(point)
        top = _is_top(point)
        base, tip = (TOP, TOP + POINT_H) if top else (BOTTOM, BOTTOM - POINT_H)
        fill = POINT_FILL[point % 2]
        parts.append(
            f'<polygon points="{x - W / 2:.1f},{base} {x + W / 2:.1f},{base} {x:.1f},{tip}" '
            f'fill="{fill}"/>'
        )
        label_y = TOP - 7 if top else BOTTOM + 17
        parts.append(
            f'<text x="{x:.1f}" y="{label_y}" text-anchor="middle" font-size="12" '
            f'fill="#333">{point}</text>'
        )
    return parts


def _bar(board: Board) -> list[str]:
    parts = []
    x = BAR_X + BAR_W / 2
    middle = (TOP + BOTTOM) / 2
    for count, colours, sign in (
        (board.on_roll[BAR], WHITE, 1),
        (board.opponent[BAR], BLACK, -1),
    ):
        if count:
            y = middle + sign * (R + 4)
            parts.append(_checker(x, y, colours, str(count) if count > 1 else ""))
    return parts


def _tray(board: Board) -> list[str]:
    parts = [
        f'<rect x="{TRAY_X}" y="{TOP}" width="{TRAY_W}" height="{PLAY_H}" fill="#5b3b22" rx="4"/>'
    ]
    for count, colours, top in (
        (board.opponent_off, BLACK, True),
        (board.on_roll_off, WHITE, False),
    ):
        fill, stroke, _ = colours
        for k in range(count):
            y = TOP + 4 + k * 10 if top else BOTTOM - 12 - k * 10
            parts.append(
                f'<rect x="{TRAY_X + 4}" y="{y}" width="{TRAY_W - 8}" height="8" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="1"/>'
            )
        if count:
            y = TOP + 4 + count * 10 + 14 if top else BOTTOM - 12 - count * 10 - 6
            parts.append(
                f'<text x="{TRAY_X + TRAY_W / 2}" y="{y}" text-anchor="middle" font-size="12" '
                f'fill="#fff">{count} off</text>'
            )
    return parts


def _die(x: float, y: float, value: int, size: float = 30) -> str:
    step = size / 4
    pips = "".join(
        f'<circle cx="{x + step * (1 + gx):.1f}" cy="{y + step * (1 + gy):.1f}" r="3" fill="#222"/>'
        for gx, gy in _PIPS[value]
    )
    return (
        f'<g class="die" data-value="{value}"><rect x="{x}" y="{y}" width="{size}" '
        f'height="{size}" rx="5" fill="#fff" stroke="#222" stroke-width="1.5"/>{pips}</g>'
    )


def _dice(dice: tuple[int, int] | None) -> list[str]:
    if dice is None:
        return []
    middle = (TOP + BOTTOM) / 2 - 15
    x = RIGHT + HALF / 2 - 36
    return [_die(x, middle, dice[0]), _die(x + 42, middle, dice[1])]


def _side_words(side: tuple[int, ...], numbering: str) -> str:
    spots = []
    for i, n in enumerate(side[:POINTS]):
        if n:
            point = i + 1 if numbering == "own" else POINTS - i
            spots.append((point, n))
    words = [f"{n} on {p}" for p, n in sorted(spots, reverse=True)]
    if side[BAR]:
        words.append(f"{side[BAR]} on the bar")
    return ", ".join(words) or "none on the board"


def describe_board(board: Board, dice: tuple[int, int] | None = None) -> str:
    """The position in words, points numbered from the player on roll's side."""
    roll = f" to play {dice[0]}-{dice[1]}" if dice else ""
    pips_on_roll, pips_opponent = board.pip_counts
    return (
        f"White is on roll{roll}. White: {_side_words(board.on_roll, 'own')}; "
        f"{board.on_roll_off} borne off; pip count {pips_on_roll}. "
        f"Black: {_side_words(board.opponent, 'mirrored')}; {board.opponent_off} borne off; "
        f"pip count {pips_opponent}."
    )


def render_board_svg(
    board: Board,
    dice: tuple[int, int] | None = None,
    *,
    title: str = "Backgammon position",
    dom_id: str = "board",
) -> str:
    """The board as an inline SVG element (scales to its container's width); ``dom_id``
    keeps the ids of its title and description unique on a page of several boards."""
    ref = escape(dom_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="board" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{ref}-title {ref}-desc" id="{ref}" '
        'preserveAspectRatio="xMidYMid meet">',
        f'<title id="{ref}-title">{escape(title)}</title>',
        f'<desc id="{ref}-desc">{escape(describe_board(board, dice))}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<rect x="{LEFT}" y="{TOP}" width="{HALF}" height="{PLAY_H}" fill="#efe3c8"/>',
        f'<rect x="{RIGHT}" y="{TOP}" width="{HALF}" height="{PLAY_H}" fill="#efe3c8"/>',
        f'<rect x="{BAR_X}" y="{TOP}" width="{BAR_W}" height="{PLAY_H}" fill="#5b3b22"/>',
        *_points(),
    ]
    for point in range(1, POINTS + 1):
        mine, theirs = board.at(point)
        x, top = _point_x(point), _is_top(point)
        if mine:
            parts.extend(_stack(x, mine, top, WHITE))
        if theirs:
            parts.extend(_stack(x, theirs, top, BLACK))
    parts.extend(_bar(board))
    parts.extend(_tray(board))
    parts.extend(_dice(dice))
    pips_on_roll, pips_opponent = board.pip_counts
    roll = f", to play {dice[0]}-{dice[1]}" if dice else ""
    caption = f"White (bottom) on roll{roll} · pips: white {pips_on_roll}, black {pips_opponent}"
    parts.append(
        f'<text class="on-roll" x="{LEFT}" y="{HEIGHT - 8}" font-size="15" fill="#111">'
        f"{escape(caption)}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
