"""``nls demo``: the embedded stack with every agent, each family driven through the API as an
app would, then what the read models hold.

Learning and remediation (scripted learners answering CCNA questions), a drill series
(GNU Backgammon's ground truth; skipped, with how to get it, where gnubg is missing),
a strength session, a worksheet course chosen from three candidates, and a C&G 2365
lesson built in ten phases.
"""

from __future__ import annotations

import httpx
from rich.console import Console
from rich.table import Table

from projections.checksum import checksum
from projections.db import make_engine
from projections.dead_letters import dead_letters
from projections.usage import usage_stats
from services.bootstrap import bootstrap
from services.bus.producer import EventPublisher
from services.settings import Settings
from tools.demo.families import show_course, show_drills, show_lesson, show_strength
from tools.demo.learning import show_learning
from tools.demo.stage import Demo
from tools.devstack.stack import DevStack

__all__ = ["run_demo"]


async def run_demo(settings: Settings, console: Console, *, learners: int, answers: int) -> None:
    stack = DevStack(settings)
    try:
        with console.status("starting the embedded stack"):
            info = await stack.start()
            await stack.wait_api()
        console.print(
            f"stack up: broker {info.bootstrap} ({info.broker_origin}), Postgres "
            f"({info.postgres_origin}), API {info.api_url}, {len(info.agents)} agents"
        )
        effective = settings.model_copy(
            update={
                "kafka_bootstrap_servers": info.bootstrap,
                "database_url": info.database_url,
                "broker_flavour": info.env["NLS_BROKER_FLAVOUR"],
            }
        )
        engine = make_engine(effective, read_only=True)
        headers = {"Authorization": f"Bearer {info.api_token}"}
        try:
            async with (
                httpx.AsyncClient(base_url=info.api_url, headers=headers, timeout=90) as http,
                EventPublisher(effective, client_id="demo") as publisher,
            ):
                demo = Demo(console, effective, http, engine, publisher)
                console.rule("Learning and remediation")
                await show_learning(demo, learners=learners, answers=answers)
                for title, part in (
                    ("Drill series", show_drills),
                    ("Strength session", show_strength),
                    ("Worksheet course", show_course),
                    ("Lesson", show_lesson),
                ):
                    console.rule(title)
                    await part(demo)
                console.rule("Read models")
                await _summary(demo)
        finally:
            await engine.dispose()
    finally:
        with console.status("stopping"):
            await stack.stop()


async def _summary(demo: Demo) -> None:
    platform = bootstrap(demo.settings)
    async with demo.engine.connect() as conn:
        usage = await usage_stats(conn)
        dead = await dead_letters(conn, limit=10)
    u = Table("family", "strategy", "calls", "p50 ms", "fallback", title="nls stats usage")
    for row in usage:
        u.add_row(
            row.family,
            row.strategy,
            str(row.calls),
            f"{row.latency_p50_ms:.1f}",
            f"{row.fallback_rate:.0%}",
        )
    demo.console.print(u)
    dl = Table("agent", "kind", "reason", title="dead letters")
    for r in dead:
        dl.add_row(r.agent, r.kind, r.reason[:70])
    demo.console.print(dl)
    c = Table("read model", "rows", "digest", title="checksums (equal after `nls replay`)")
    for p in platform.projections.values():
        digest, tables = await checksum(demo.engine, p)
        rows = ", ".join(f"{t.table} {t.rows}" for t in tables)
        c.add_row(p.name, rows, digest[:16])
    demo.console.print(c)
