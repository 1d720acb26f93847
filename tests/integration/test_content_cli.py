"""`nls content import` and `nls generate concept|gaps|stats` against the broker and the
read models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from events import Context
from projections.db import make_engine
from services.content.pack import concept_uuid
from services.settings import Settings
from tests.support.cli import nls
from tests.support.helpers import background, count_rows, query_rows, read_topic, wait_until
from tests.support.jit import PACK, ccna
from tests.support.platform import projector

pytestmark = pytest.mark.integration


async def test_import_generate_and_stats(settings: Settings, tmp_path: Path) -> None:
    # A bad pack is refused whole, naming the problem, and publishes nothing.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "pack.yaml").write_text("pack: bad\nversion: 1\ntitle: Bad\n")
    (bad / "routing.yaml").write_text(
        "cluster:\n  slug: routing\n  name: R\nconcepts:\n"
        "  - slug: ospf\n    name: OSPF\n    facts:\n"
        "      - attribute: distance\n        value: '110'\n        statement: OSPF wins.\n"
    )
    refused = await nls(settings, "content", "import", str(bad))
    assert refused.returncode == 1
    assert "bad/routing.yaml:8: concepts[0].facts[0]: statement must contain" in refused.stderr
    assert await read_topic(settings, settings.topics().domain(Context.CONTENT), 1.0) == []

    imported = await nls(settings, "content", "import", str(PACK))
    assert imported.returncode == 0, imported.stderr
    pack = ccna()
    clusters = len({c.cluster_id for c in pack.concepts})
    assert f"{len(pack.concepts)} concepts in {clusters} clusters" in imported.stdout
    assert f"published {len(pack.events())} events" in imported.stdout

    engine = make_engine(settings)
    try:
        async with background(projector(settings)):
            await wait_until(lambda: count_rows(engine, "concepts"), lambda n: n >= 40)
            atoms_before = await wait_until(
                lambda: count_rows(engine, "learning_atoms"), lambda n: n == len(pack.atoms)
            )

            listed = await nls(settings, "generate", "gaps", "--cluster", "fhrp", "-n")
            assert listed.returncode == 0 and "gap(s)" in listed.stdout

            preview = await nls(settings, "generate", "concept", "class-a", "--dry-run", "-c", "2")
            assert preview.returncode == 0, preview.stderr
            assert "would generate 2 atom(s)" in preview.stdout
            await asyncio.sleep(1.0)
            assert await count_rows(engine, "learning_atoms") == atoms_before  # nothing saved

            ospf = str(concept_uuid("ccna", "ospf"))
            made = await nls(settings, "generate", "concept", ospf, "-t", "explanation", "-c", "2")
            assert made.returncode == 0 and "generated 2 atom(s)" in made.stdout, made.stderr

            filled = await nls(
                settings,
                "generate",
                "gaps",
                "--cluster",
                "fhrp",
                "--min-atoms",
                "4",
                "--yes",
                "--strategy",
                "rules",
            )
            assert filled.returncode == 0, filled.stderr
            assert "filling gaps" in filled.stdout and "generated" in filled.stdout
            rows = await wait_until(
                lambda: query_rows(
                    engine,
                    "SELECT c.slug, count(a.id) FROM concepts c LEFT JOIN learning_atoms a "
                    "USING (concept_id) WHERE c.cluster_slug = 'fhrp' GROUP BY c.slug",
                ),
                lambda r: r and all(n >= 4 for _, n in r),
                what="fhrp filled to 4",
            )
            assert len(rows) == 3

            unknown = await nls(settings, "generate", "concept", "no-such-concept")
            assert unknown.returncode == 1 and "no concept 'no-such-concept'" in unknown.stderr

            stats = await nls(settings, "generate", "stats")
    finally:
        await engine.dispose()
    assert stats.returncode == 0, stats.stderr
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in stats.stdout.splitlines()
        if line.count("│") == 3
    }
    assert lines["User request"] == "2" and int(lines["Missing coverage"]) >= 3
    assert lines["Total atoms"].replace(",", "").isdigit() and "%" in lines["JIT-generated"]
