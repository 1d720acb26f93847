"""The drills family: rules (``make_drill``) or an LLM writing the prose, never the key.

The llm strategy sends the batch's positions with gnubg's ranked plays, and the
principles and curriculum stages of the positions' phases (the series' teaching),
and asks for one drill per position, tagged with the principle its best play
shows and explained by it. Every draft is checked against the engine's ranking
(``drills.check``): a drill keyed to anything but gnubg's best play, or offering
a play gnubg did not rank, is re-asked and then replaced by the rules drills.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from events.drills import Drill, Principle, SeededPosition
from services.drills.drills import check, make_drill
from services.drills.principles import Teaching, drill_tags
from services.generation import Family, Gateway, Generated, GenerationRequest, register

__all__ = ["DRILLS", "BatchTask", "DrillDraft", "DrillDrafts"]


def _shipped() -> Teaching:
    from services.drills.principles_pack import shipped_principles

    return shipped_principles().teaching()


@dataclass(frozen=True)
class BatchTask:
    indices: tuple[int, ...]
    positions: tuple[SeededPosition, ...]
    seed: str
    teaching: Teaching = field(default_factory=_shipped)


class DrillDraft(BaseModel):
    index: int = Field(ge=0)
    question: str = Field(min_length=1, max_length=500)
    options: list[str] = Field(min_length=2, max_length=5)
    best_move: str = Field(min_length=1, max_length=64)
    explanations: list[str] = Field(max_length=5)
    principle: Principle


class DrillDrafts(BaseModel):
    drills: list[DrillDraft] = Field(min_length=1, max_length=50)


def rules(task: BatchTask) -> list[Drill]:
    return [
        make_drill(p, i, seed=task.seed, teaching=task.teaching)
        for i, p in zip(task.indices, task.positions, strict=True)
    ]


def _drill(draft: DrillDraft, position: SeededPosition) -> Drill:
    return Drill(
        index=draft.index,
        position_id=position.position_id,
        dice=(max(position.dice), min(position.dice)),
        phase=position.phase,
        question=draft.question,
        options=draft.options,
        answer_index=draft.options.index(draft.best_move),  # checked before
        best_move=draft.best_move,
        explanations=draft.explanations,
        principle=draft.principle,
    )


def _checker(task: BatchTask):  # type: ignore[no-untyped-def]
    by_index = dict(zip(task.indices, task.positions, strict=True))

    def check_drafts(drafts: DrillDrafts) -> None:
        found = []
        if sorted(d.index for d in drafts.drills) != sorted(task.indices):
            found.append(f"write exactly one drill for each index {list(task.indices)}")
        for d in drafts.drills:
            position = by_index.get(d.index)
            if position is None:
                continue
            if d.best_move not in d.options:
                found.append(f"drill {d.index}: best_move must be one of the options")
                continue
            found += check(_drill(d, position), list(position.candidate_moves))
        if found:
            raise ValueError("; ".join(found[:8]))

    return check_drafts


async def llm(task: BatchTask, gateway: Gateway) -> Generated[list[Drill]]:
    teaching = task.teaching.for_phases(p.phase for p in task.positions)
    content = {
        "principles": teaching.mental_model()["principles"],
        "curriculum": teaching.curriculum()["stages"],
        "principle_tags": drill_tags(),
        "drills": [
            {
                "index": i,
                "position_id": p.position_id,
                "dice": [max(p.dice), min(p.dice)],
                "phase": p.phase.value,
                "ranked_plays": [m.model_dump() for m in p.candidate_moves],
            }
            for i, p in zip(task.indices, task.positions, strict=True)
        ],
    }
    made = await gateway.generate(
        GenerationRequest(
            task="drill-batch",
            family="drills",
            content=content,
            output=DrillDrafts,
            check=_checker(task),
        )
    )
    by_index = dict(zip(task.indices, task.positions, strict=True))
    drills = [_drill(d, by_index[d.index]) for d in made.value.drills]
    return Generated(sorted(drills, key=lambda d: d.index), made.usage)


DRILLS: Family[BatchTask, list[Drill]] = register(
    Family("drills", rules, llm=llm, task="drill-batch")
)
