"""``nls dev up`` (the embedded stack) and ``nls demo`` (the stack, driven end to end)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from services.logging import configure_logging
from services.runtime.cli import console, fail, platform, run
from services.settings import Settings

__all__ = ["dev_app", "register"]

dev_app = typer.Typer(help="The embedded dev stack.", no_args_is_help=True)


@dev_app.command("up")
def dev_up() -> None:
    """Start the embedded stack (broker, Postgres, agents, projectors, API) until Ctrl-C."""
    from services.runtime.worker import run_until_signalled
    from tools.devstack.stack import DevStack

    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)

    async def go(stop: asyncio.Event) -> None:
        stack = DevStack(settings)
        try:
            info = await stack.start()
            await stack.wait_api()
            _print_stack(info)
            await stop.wait()
        finally:
            await stack.stop()

    run(run_until_signalled(go))


@dev_app.command("compose")
def dev_compose(
    path: Annotated[Path, typer.Option(help="the compose file")] = Path(
        "infra/redpanda-compose.yml"
    ),
    check: Annotated[bool, typer.Option(help="fail if it differs instead of writing")] = False,
) -> None:
    """Write the compose file's agent services from the family registry."""
    from tools.devstack.compose import with_agent_services

    text = path.read_text()
    wanted = with_agent_services(text, platform())
    if check:
        if wanted != text:
            raise fail(
                f"{path}: its agent services differ from the registry: run `nls dev compose`"
            )
        console.print(f"[green]{path} runs every agent of the registry[/]")
        return
    path.write_text(wanted)
    console.print(f"wrote the agent services of {path} ({len(platform().agents)} agents)")


def _print_stack(info: Any) -> None:
    table = Table(title="nls dev stack", show_header=False)
    table.add_row("broker", f"{info.bootstrap}  [{info.broker_origin}]")
    table.add_row("postgres", f"{info.database_url}  [{info.postgres_origin}]")
    table.add_row("API", f"{info.api_url}  (Authorization: Bearer {info.api_token})")
    table.add_row("API docs", f"{info.api_url}/docs  (the page asks for the token)")
    table.add_row("console", f"{info.api_url}/console  (sign in with the API token)")
    table.add_row("agents", ", ".join(info.agents))
    table.add_row("env", "written to .nls/stack.env for other nls commands")
    console.print(table)
    console.print(
        "[bold]A learning app publishes here:[/] Kafka bootstrap "
        f"[cyan]{info.bootstrap}[/] (aiokafka, kafkajs), or HTTP "
        f"[cyan]POST {info.api_url}/v1/events[/] with the bearer token (any client). "
        "librdkafka clients (kcat, confluent-kafka) cannot talk to the embedded broker: "
        "use the HTTP API, or Redpanda via infra/redpanda-compose.yml."
    )
    if info.broker_origin.startswith("embedded"):
        console.print(
            "[yellow]The embedded broker keeps events in memory only: stopping it loses the log. "
            "infra/redpanda-compose.yml is the durable deployment.[/]"
        )
    console.print("Ctrl-C stops everything.")


def demo(
    learners: Annotated[int, typer.Option(min=1, max=10_000)] = 24,
    answers: Annotated[int, typer.Option(help="answers per learner", min=1, max=1000)] = 40,
) -> None:
    """Start the embedded stack, publish a scripted stream of answers, print the read models."""
    from tools.demo import run_demo

    settings = Settings()
    if "log_level" not in settings.model_fields_set:  # quiet workers, unless asked otherwise
        settings = settings.model_copy(update={"log_level": "warning"})
    configure_logging(settings.log_level, json=settings.log_json)
    run(run_demo(settings, console, learners=learners, answers=answers))


def register(app: typer.Typer) -> None:
    app.add_typer(dev_app, name="dev")
    app.command("demo")(demo)
