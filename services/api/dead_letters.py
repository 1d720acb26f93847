"""``/v1/dead-letters``: list dead letters, and replay them (``nls dlq replay`` over HTTP)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from projections.dead_letters import DeadLetterView, dead_letters
from services.api.deps import AGENT_PATTERN, KIND_PATTERN, Conn, Limit, Offset, State
from services.api.errors import ApiError
from services.runtime.dlq_replay import ReplayFilter, ReplayPlan, parse_since
from services.runtime.dlq_replayer import (
    DeadLetterLogError,
    plan_dead_letter_replay,
    replay_dead_letters,
)

__all__ = ["ReplayRequest", "ReplayResult", "replay_result", "router"]

router = APIRouter(tags=["ops"])

AgentQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=100, pattern=AGENT_PATTERN, description="e.g. diagnoser"),
]
KindQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=50, pattern=KIND_PATTERN, description="e.g. handler_failed"),
]
SINCE_PATTERN = r"^(\d{1,6}[smhd]|\d{4}-\d{2}-\d{2}([Tt ][0-9:.]+([Zz]|[+-]\d{2}:?\d{2})?)?)$"


class ReplayRequest(BaseModel):
    """Which dead letters to replay; every filter is optional (none: all not yet replayed)."""

    model_config = ConfigDict(extra="forbid")

    agent: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=AGENT_PATTERN, examples=["diagnoser"]
    )
    kind: str | None = Field(
        default=None, min_length=1, max_length=50, pattern=KIND_PATTERN, examples=["handler_failed"]
    )
    since: str | None = Field(
        default=None,
        max_length=40,
        pattern=SINCE_PATTERN,
        description="failed since a duration back (90s, 15m, 6h, 2d) or an ISO 8601 time",
        examples=["1h"],
    )
    dry_run: bool = Field(default=False, description="list what would be replayed, publish nothing")

    @field_validator("since")
    @classmethod
    def _since_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_since(value)
        return value


class ReplayedOriginal(BaseModel):
    source_topic: str
    source_partition: int
    source_offset: int
    event_type: str | None
    agents: list[str] = Field(description="the readers that had dead-lettered it")


class ReplayTally(BaseModel):
    agent: str
    kind: str
    replayed: int = Field(description="dead letters whose original this call republished")
    already_replayed: int = Field(description="dead letters whose original was replayed before")


class ReplayResult(BaseModel):
    dry_run: bool
    replayed: int = Field(description="originals republished (or, dry run, to republish)")
    dead_letters: int = Field(description="dead letters those originals answer")
    already_replayed: int = Field(description="selected dead letters replayed before")
    unreplayable: int = Field(description="dead-letter records that are not ours to replay")
    originals: list[ReplayedOriginal]
    by_agent_kind: list[ReplayTally]


def replay_result(plan: ReplayPlan, *, dry_run: bool) -> ReplayResult:
    return ReplayResult(
        dry_run=dry_run,
        replayed=len(plan.originals),
        dead_letters=sum(len(o.dead_letters) for o in plan.originals),
        already_replayed=len(plan.already),
        unreplayable=plan.unreplayable,
        originals=[
            ReplayedOriginal(
                source_topic=o.source.topic,
                source_partition=o.source.partition,
                source_offset=o.source.offset,
                event_type=o.event_type,
                agents=sorted({d.agent for d in o.dead_letters}),
            )
            for o in plan.originals
        ],
        by_agent_kind=[
            ReplayTally(agent=a, kind=k, replayed=todo, already_replayed=done)
            for (a, k), (todo, done) in plan.tally().items()
        ],
    )


@router.get("/v1/dead-letters", response_model=list[DeadLetterView])
async def list_dead_letters(
    conn: Conn,
    limit: Limit = 50,
    offset: Offset = 0,
    agent: AgentQuery = None,
    kind: KindQuery = None,
    replayed: Annotated[
        bool | None, Query(description="true: replayed only; false: not yet replayed")
    ] = None,
) -> Any:
    """Dead letters, newest first: who failed on what, why, and whether it was replayed."""
    return await dead_letters(
        conn, limit=limit, offset=offset, agent=agent, kind=kind, replayed=replayed
    )


@router.post("/v1/dead-letters/replay", response_model=ReplayResult)
async def replay(body: ReplayRequest, request: Request) -> Any:
    """Republish the originals of the selected dead letters to their source topics, once.

    Each original goes back with its key, value and headers; a replay marker in
    the dead-letter topic records it, so replaying again republishes nothing.
    Readers that had applied the event skip it (they dedupe by event id).
    """
    state: State = request.app.state.nls
    flt = ReplayFilter(
        agent=body.agent,
        kind=body.kind,
        since=parse_since(body.since) if body.since else None,
    )
    try:
        if body.dry_run:
            plan = await plan_dead_letter_replay(state.settings, flt)
        else:
            plan = await replay_dead_letters(
                state.settings,
                flt,
                publisher=state.publisher,
                engine=state.engine,
                replayed_by="api",
            )
    except DeadLetterLogError as exc:
        raise ApiError(503, "unavailable", f"broker unavailable: {exc}") from exc
    return replay_result(plan, dry_run=body.dry_run)
