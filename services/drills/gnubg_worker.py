"""Runs inside GNU Backgammon's embedded Python (``gnubg -t -q -p gnubg_worker.py``).

Reads one JSON request per line on stdin and answers one line on stdout,
prefixed with ``@@NLS `` (gnubg prints its own chatter there too). Standard
library and the ``gnubg`` module only: this file is not run by our interpreter.

Requests:
- ``{"op": "ping"}``
- ``{"op": "analyse", "position_id": ..., "dice": [a, b], "n": 5}``: ranked plays at
  2-ply, cubeful
- ``{"op": "selfplay", "seed": s, "games": g}``: positions met in self-play (0-ply
  play), each with the roll of the player on roll; analyse the ones you keep
"""

import json
import random
import sys

import gnubg  # type: ignore[import-not-found]

OUT = sys.__stdout__


def reply(payload):
    OUT.write("@@NLS " + json.dumps(payload) + "\n")
    OUT.flush()


def ranked(n):
    hint = gnubg.hint(n)
    if not hint:
        return []
    return [
        {"move": m["move"], "equity": m["equity"], "equity_loss": -m["eqdiff"]}
        for m in hint["hint"]
    ]


def evaluation(plies, cubeful):
    gnubg.command(f"set evaluation chequerplay evaluation plies {plies}")
    gnubg.command(f"set evaluation chequerplay evaluation cubeful {cubeful}")


def analyse(req):
    evaluation(req.get("plies", 2), "on")  # the ground truth: 2-ply, cubeful
    gnubg.command("new game")
    # The id is the board as the player on roll sees it: fix the turn first.
    gnubg.command("set turn 1")
    gnubg.command("set board " + req["position_id"])
    gnubg.command("set dice {} {}".format(*req["dice"]))
    if gnubg.positionid() != req["position_id"]:
        raise ValueError("gnubg did not take position " + req["position_id"])
    return {"position_id": gnubg.positionid(), "moves": ranked(req.get("n", 5))}


def home_only(board):
    side = board[1]  # the player on roll; index 0 is the ace point, 24 the bar
    return sum(side) > 0 and sum(side[6:]) == 0


def selfplay(req):
    evaluation(0, "off")  # fast, good enough to steer a game; analyse() gives the truth
    rng = random.Random(req["seed"])
    out = []
    for _ in range(req["games"]):
        gnubg.command("new game")
        for ply in range(1000):
            dice = (rng.randint(1, 6), rng.randint(1, 6))
            gnubg.command("set dice {} {}".format(*dice))
            info = gnubg.posinfo()
            if info["gamestate"] != 1:
                break
            plays = ranked(2)
            if not plays:  # no legal play: the turn passes
                gnubg.command("set turn {}".format(1 - info["turn"]))
                continue
            board = gnubg.board()
            out.append(
                {
                    "position_id": gnubg.positionid(),
                    "dice": list(dice),
                    "ply": ply,
                    "bearoff": home_only(board),
                    "choices": len(plays),
                }
            )
            # Mostly the best play, sometimes the second: varied but sensible games.
            pick = plays[1] if len(plays) > 1 and rng.random() < 0.25 else plays[0]
            gnubg.command(pick["move"])
            if gnubg.posinfo()["gamestate"] != 1:
                break
    return {"positions": out}


def main():
    gnubg.command("set display off")  # no board drawn after every command
    gnubg.command("set player 0 human")
    gnubg.command("set player 1 human")
    gnubg.command("set automatic roll off")
    ops = {"ping": lambda req: {"ok": True}, "analyse": analyse, "selfplay": selfplay}
    for line in sys.stdin:
        try:
            req = json.loads(line)
            reply({"id": req.get("id"), "result": ops[req["op"]](req)})
        except Exception as exc:  # report, keep serving
            reply({"id": None, "error": f"{type(exc).__name__}: {exc}"})


main()
