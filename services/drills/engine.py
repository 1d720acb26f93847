"""GNU Backgammon as the ground-truth engine: a pool of long-lived gnubg processes.

Each worker is ``gnubg -t -q -p gnubg_worker.py`` speaking JSON lines. A call
that takes longer than its timeout, or a worker that dies, gets the worker
killed and restarted and the call retried (``attempts`` in all); after that the
call fails with a typed ``EngineError``. Calls never block the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog

from events.drills import CandidateMove
from events.errors import NlsError

__all__ = [
    "GNUBG",
    "OPENING_POSITION",
    "BackgammonEngine",
    "EngineError",
    "EngineTimeout",
    "GnubgEngine",
    "PlayedPosition",
]

log = structlog.get_logger(__name__)

GNUBG = "/usr/games/gnubg"
OPENING_POSITION = "4HPwATDgc/ABMA"  # the starting position
_SCRIPT = Path(__file__).with_name("gnubg_worker.py")
_PREFIX = b"@@NLS "


class EngineError(NlsError, RuntimeError):
    def __init__(self, message: str, *, op: str) -> None:
        super().__init__(f"gnubg {op}: {message}")
        self.op = op


class EngineTimeout(EngineError):
    retryable = True


@dataclass(frozen=True, slots=True)
class PlayedPosition:
    """A position met in self-play, with the roll of the player on it."""

    position_id: str
    dice: tuple[int, int]
    ply: int
    bearoff: bool
    choices: int = 2  # legal plays, up to 2: a forced play makes no drill


class BackgammonEngine(Protocol):
    name: str

    async def analyse(
        self, position_id: str, dice: tuple[int, int], n: int = 5
    ) -> list[CandidateMove]: ...

    async def self_play(self, seed: int, games: int) -> list[PlayedPosition]: ...

    async def aclose(self) -> None: ...


def _moves(raw: list[dict[str, Any]]) -> list[CandidateMove]:
    return [
        CandidateMove(
            rank=i + 1,
            move=m["move"],
            equity=round(m["equity"], 6),
            equity_loss=round(max(0.0, m["equity_loss"]), 6),
        )
        for i, m in enumerate(raw)
    ]


class _Worker:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.binary,
            "-t",
            "-q",
            "-p",
            str(_SCRIPT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=64 * 1024 * 1024,
        )

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.proc is None or self.proc.returncode is not None:
            await self.start()
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(orjson.dumps(request) + b"\n")
        await self.proc.stdin.drain()
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                raise ConnectionError("the gnubg worker exited")
            if line.startswith(_PREFIX):
                answer: dict[str, Any] = orjson.loads(line[len(_PREFIX) :])
                return answer

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        self.proc = None


class GnubgEngine:
    """``size`` gnubg processes; each call takes a free one."""

    name = "gnubg"

    def __init__(
        self, *, size: int = 2, timeout_s: float = 30.0, attempts: int = 2, binary: str = GNUBG
    ) -> None:
        if shutil.which(binary) is None:
            raise EngineError(
                f"{binary} not found: install GNU Backgammon (apt-get install gnubg)", op="start"
            )
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._workers = [_Worker(binary) for _ in range(size)]
        self._free: asyncio.Queue[_Worker] | None = None
        self._ids = itertools.count(1)
        self.restarts = 0

    def _pool(self) -> asyncio.Queue[_Worker]:
        if self._free is None:
            self._free = asyncio.Queue()
            for w in self._workers:
                self._free.put_nowait(w)
        return self._free

    async def _call(self, request: dict[str, Any], timeout_s: float | None = None) -> Any:
        op = request["op"]
        worker = await self._pool().get()
        try:
            for attempt in range(1, self.attempts + 1):
                try:
                    async with asyncio.timeout(timeout_s or self.timeout_s):
                        answer = await worker.call({**request, "id": next(self._ids)})
                except (TimeoutError, ConnectionError, BrokenPipeError, ValueError) as exc:
                    kind = "timed out" if isinstance(exc, TimeoutError) else repr(exc)
                    log.warning("gnubg.restart", op=op, attempt=attempt, reason=kind)
                    await worker.kill()
                    self.restarts += 1
                    if attempt == self.attempts:
                        error = EngineTimeout if isinstance(exc, TimeoutError) else EngineError
                        raise error(f"{kind} after {attempt} attempts", op=op) from None
                    continue
                if "error" in answer:
                    raise EngineError(answer["error"], op=op)
                return answer["result"]
        finally:
            self._pool().put_nowait(worker)

    async def analyse(
        self, position_id: str, dice: tuple[int, int], n: int = 5
    ) -> list[CandidateMove]:
        result = await self._call(
            {"op": "analyse", "position_id": position_id, "dice": list(dice), "n": n}
        )
        return _moves(result["moves"])

    async def self_play(self, seed: int, games: int) -> list[PlayedPosition]:
        result = await self._call(
            {"op": "selfplay", "seed": seed, "games": games},
            timeout_s=max(self.timeout_s, 30.0 * games),
        )
        return [
            PlayedPosition(
                p["position_id"], (p["dice"][0], p["dice"][1]), p["ply"], p["bearoff"], p["choices"]
            )
            for p in result["positions"]
        ]

    async def aclose(self) -> None:
        for w in self._workers:
            await w.kill()

    async def __aenter__(self) -> GnubgEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
