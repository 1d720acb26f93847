"""`nls positions seed` builds the library into the positions read model; `nls positions
plan` shows what a drill request loads; bad requests are refused clearly."""

from __future__ import annotations

import pytest

from projections.db import make_engine
from services.settings import Settings
from tests.support.cli import nls
from tests.support.helpers import background, count_rows, query_rows, wait_until
from tests.support.platform import projector

pytestmark = pytest.mark.integration


async def test_seed_and_plan(settings: Settings) -> None:
    seeded = await nls(settings, "positions", "seed", "--per-phase", "3", "--games", "4")
    assert seeded.returncode == 0, seeded.stderr
    assert "published 30 positions" in seeded.stdout
    engine = make_engine(settings)
    try:
        async with background(projector(settings, "positions")):
            await wait_until(lambda: count_rows(engine, "positions"), lambda n: n == 30)
        phases = dict(
            await query_rows(engine, "SELECT phase, count(*) FROM positions GROUP BY phase")
        )
    finally:
        await engine.dispose()
    assert phases == {"OPENING": 21, "EARLY": 3, "MIDDLE": 3, "BEAROFF": 3}

    plan = await nls(settings, "positions", "plan", "--drills", "4", "--phases", "opening,early")
    assert plan.returncode == 0, plan.stderr
    assert "OPENING" in plan.stdout and "per-phase limit 4" in plan.stdout
    assert "24 positions" in plan.stdout  # all 21 opening rolls + the 3 EARLY ones there are

    for args, problem in [
        (("positions", "seed", "--engine", "stockfish"), "unknown engine 'stockfish'"),
        (("positions", "plan", "--phases", "ENDGAME"), "unknown game phase 'ENDGAME'"),
        (("positions", "plan", "--drills", "0"), "--drills must be at least 1"),
        (("positions", "plan", "--drills", "-5"), "--drills must be at least 1"),
    ]:
        refused = await nls(settings, *args)
        assert refused.returncode != 0 and problem in refused.stderr, refused.stderr
