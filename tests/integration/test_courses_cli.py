"""`nls courses request` and `nls courses show` in this process against the broker and
Postgres, every course agent and the projector running beside them: the live view's
final lines for a selected course and for one that needs attention (exit 1, the seed's
422 body), the course with its candidates, as a table and as JSON."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
import pytest

from services.settings import Settings
from tests.integration.test_courses_flow import low_scores, served
from tests.support.cli import invoke, said
from tests.support.courses import course_agents
from tools.fakellm import data_of
from tools.fakellm.simulated import simulated_model

pytestmark = pytest.mark.integration


def by_subject(body: dict[str, Any]) -> str:
    """Geography scores low; everything else is a good model's."""
    if data_of(body)["request"]["subject"] == "geography":
        return low_scores(body)
    return simulated_model(body)


def requested(output: str) -> str:
    found = re.search(r"requested course ([0-9a-f-]{36})", output)
    assert found is not None, output
    return found[1]


async def test_request_and_show_a_course_from_the_cli(settings: Settings) -> None:
    with served(by_subject) as (_, gateway):
        async with course_agents(settings, gateway):
            good = await invoke(
                settings, "courses", "request", "--subject", "math", "--grade", "3",
                "--candidates", "3", "--strategy", "llm",
            )  # fmt: skip
            low = await invoke(
                settings, "courses", "request", "--subject", "geography", "--grade", "4",
                "--candidates", "3", "--strategy", "llm", "--groups", "1",
                "--items-per-group", "2",
            )  # fmt: skip
            course_id = requested(good.output)
            shown = await invoke(settings, "courses", "show", course_id)
            as_json = await invoke(settings, "courses", "show", course_id, "--json")
            low_shown = await invoke(settings, "courses", "show", requested(low.output))
            unknown = await invoke(settings, "courses", "show", str(uuid.uuid4()))

    # The live view ends on the finished course: every candidate generated, reviewed and
    # scored, then the outcome as the seed reports it.
    assert good.exit_code == 0, good.output
    followed = said(good)
    assert "SELECTED: 3/3 generated, 3/3 reviewed, 3/3 scored" in followed
    outcome = re.search(
        r"selected candidate (\d) with score (\d\.\d\d) \(candidates, 3 candidate\(s\), "
        r"(\d+) tokens, (\d+) ms\)",
        followed,
    )
    assert outcome is not None, followed
    index, score = int(outcome[1]), float(outcome[2])
    assert score >= 0.60 and int(outcome[3]) > 0

    assert low.exit_code == 1, low.output
    refused = said(low)
    assert "NEEDS_ATTENTION: 3/3 generated, 3/3 reviewed, 3/3 scored" in refused
    body = orjson.loads(low.output[low.output.index("{") : low.output.rindex("}") + 1])
    assert body == {
        "error": "candidate_scores_too_low",
        "code": "needs_attention",
        "details": {
            "maxScore": 0.38,
            "minViableScore": 0.40,
            "candidateCount": 3,
            "scores": [0.35, 0.38, 0.32],
        },
    }

    assert shown.exit_code == 0, shown.output
    table = said(shown)
    assert "SELECTED: 3/3 generated, 3/3 reviewed, 3/3 scored" in table
    assert f"selected candidate {index} with score {score:.2f}" in table
    assert "g1.i1" in table and "g3.i5" in table  # the selected course's items
    data = orjson.loads(as_json.stdout)
    assert data["course"]["status"] == "SELECTED"
    assert data["course"]["summary"]["selected_index"] == index
    assert [c["candidate_index"] for c in data["candidates"]] == [0, 1, 2]
    assert [c["status"] for c in data["candidates"]].count("SELECTED") == 1
    assert low_shown.exit_code == 0 and "candidate_scores_too_low" in said(low_shown)
    assert unknown.exit_code == 1 and "no course" in unknown.stderr
