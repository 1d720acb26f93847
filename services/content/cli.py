"""``nls content``: content packs (concepts, facts, authored atoms) into the log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.runtime.cli import console, fail, progress_bar, run
from services.settings import get_settings

__all__ = ["content_app"]

content_app = typer.Typer(
    help="Content packs: concepts, facts, authored atoms.", no_args_is_help=True
)


@content_app.command("import")
def content_import(
    path: Annotated[Path, typer.Argument(help="pack directory (with pack.yaml)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="validate only")] = False,
) -> None:
    """Validate a content pack and publish its concepts and atoms (all or nothing)."""
    from services.content.pack import PackError, load_pack

    try:
        pack = load_pack(path)
    except PackError as exc:
        raise fail(str(exc)) from None
    events = pack.events()
    clusters = len({c.cluster_id for c in pack.concepts})
    summary = (
        f"pack {pack.name} v{pack.version}: {len(pack.concepts)} concepts in {clusters} "
        f"clusters, {sum(len(c.facts) for c in pack.concepts)} facts, {len(pack.atoms)} atoms"
    )
    if dry_run:
        console.print(f"{summary}: valid, nothing published (--dry-run)")
        return

    async def go() -> None:
        from services.bus.admin import ensure_topics
        from services.bus.producer import EventPublisher

        s = get_settings()
        await ensure_topics(s)
        async with EventPublisher(s, client_id="content-import") as pub:
            with progress_bar() as progress:
                task = progress.add_task("importing", total=len(events))
                for i in range(0, len(events), 200):
                    await pub.publish(events[i : i + 200])
                    progress.advance(task, len(events[i : i + 200]))

    run(go())
    console.print(f"{summary}: published {len(events)} events")
