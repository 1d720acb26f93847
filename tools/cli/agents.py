"""``nls agent list|run`` and ``nls api``: the platform's processes, from the family registry."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from services.errors import UnknownName
from services.logging import configure_logging
from services.runtime.cli import console, fail, platform, run

__all__ = ["agent_app", "agent_rows", "register"]

agent_app = typer.Typer(help="Run agents and projectors.", no_args_is_help=True)


def agent_rows() -> list[dict[str, Any]]:
    """Every agent with its family, runner, topics and what it consumes and produces."""
    p = platform()
    rows = []
    for family in p.families:
        for spec in family.agents:
            rows.append(
                {
                    "name": spec.name,
                    "family": family.name,
                    "runner": spec.runner,
                    "description": spec.description,
                    "consumes": sorted(p.consumes(spec)),
                    "produces": sorted(spec.produced_types),
                    "topics": spec.topics(p.settings) if spec.runner != "projector" else [],
                }
            )
    return rows


@agent_app.command("list")
def agent_list(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The agents this installation can run: what each consumes and produces."""
    rows = agent_rows()
    if as_json:
        console.print_json(orjson.dumps(rows).decode())
        return
    table = Table("agent", "family", "runner", "consumes", "produces", "what it does")
    for r in rows:
        consumes = ", ".join(r["consumes"]) if r["runner"] != "projector" else "every read model's"
        table.add_row(
            r["name"],
            r["family"],
            r["runner"],
            consumes,
            ", ".join(r["produces"]) or "-",
            r["description"],
        )
    console.print(table)


@agent_app.command("run")
def agent_run(
    name: Annotated[str, typer.Argument(help="agent name (see `nls agent list`)")],
    projection: Annotated[
        list[str] | None, typer.Option("--projection", "-p", help="projector only: which")
    ] = None,
) -> None:
    """Run one agent as a worker until SIGTERM/SIGINT. Start more to scale out."""
    from services.runtime.worker import run_until_signalled

    p = platform()
    try:
        spec = p.agent(name)
        if projection:
            p.chosen_projections(projection)
    except UnknownName as exc:
        raise fail(str(exc), 2) from None
    configure_logging(p.settings.log_level, json=p.settings.log_json)
    from services.runtime.probe import WorkerProbe, beating

    probe = WorkerProbe.start_for(name, p.settings)  # NLS_METRICS_PORT: /metrics + heartbeat
    if spec.runner == "faust":
        from services.runtime.faust_app import run_worker

        app = p.faust_app(name)
        if probe is not None:
            probe.beat_in(app)
        run_worker(app)
        return
    run(
        run_until_signalled(
            lambda stop: beating(probe, p.run(name, stop, projections=projection or ()))
        )
    )


def api() -> None:
    """Serve the HTTP API (needs NLS_API_TOKEN)."""
    import uvicorn

    from services.api.app import create_app

    p = platform()
    s = p.settings
    configure_logging(s.log_level, json=s.log_json)
    if not s.api_token:
        raise fail("set NLS_API_TOKEN: every endpoint but /healthz needs the bearer token")
    uvicorn.run(create_app(s), host=s.api_host, port=s.api_port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")
    app.command("api")(api)
