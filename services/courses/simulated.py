"""A simulated model for the course tasks, behind the fake model servers (tools/fakellm):
the rules' course for a candidate's request and constraint (right by construction) for
``course-candidate@v1``, a good critique for ``course-review@v1``."""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import orjson

from events.courses import CourseSpec, Diversity
from services.courses.facts import FactBank
from services.courses.rules import CandidateTask, rules_course
from services.courses.settings import DEFAULT_PACKS

__all__ = ["GOOD_REVIEW", "course_reply", "is_course_task"]

GOOD_REVIEW = {"clarity": 0.9, "age_fit": 0.9, "correctness": 0.95, "notes": []}


def is_course_task(data: dict[str, Any]) -> bool:
    """Whether a call's data block is a course candidate's or a course review's."""
    return ("constraint" in data and "request" in data) or (
        "candidate" in data and "scores" not in data
    )


@cache
def _facts() -> FactBank:
    return FactBank.load(DEFAULT_PACKS)


def _seed_of(constraint: dict[str, Any], attempt: int) -> int:
    """A seed for the constraint: the wire carries no seed (the Messages API takes
    none), and a course's candidates differ in approach and structure hints."""
    raw = orjson.dumps([constraint, attempt], option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(raw, digest_size=4).digest()) % 2**31


def course_reply(data: dict[str, Any]) -> str:
    """The JSON a good model answers a course task's data block with."""
    if "candidate" in data:
        return orjson.dumps(GOOD_REVIEW).decode()
    constraint = data["constraint"]
    attempt = (data.get("improve") or {}).get("attempt", 0)
    diversity = Diversity(
        approach=constraint["approach"],
        temperature=0.2,
        seed=_seed_of(constraint, attempt),
        style_hints=constraint["style_hints"],
    )
    spec = CourseSpec.model_validate(data["request"])
    return rules_course(CandidateTask(spec, diversity, _facts(), attempt=attempt)).model_dump_json()
