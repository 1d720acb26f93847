"""Bad requests are refused naming the field (event, HTTP API, CLI); the settings take
the seed's flags under their own names; the API answers ``?wait=`` with the seed's
bodies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from events.courses import CourseRequested
from services.api.deps import connection, publisher
from services.bus.memory import InMemoryPublisher
from services.courses import api
from services.courses.cli import courses_app, parse_modes
from services.courses.settings import CourseSettings
from tests.support.courses import T0

pytestmark = pytest.mark.unit

SEED_FLAGS = (
    "USE_CANDIDATES",
    "CANDIDATE_COUNT",
    "MIN_VIABLE_SCORE",
    "REVIEW_THRESHOLD",
    "QUALITY_RETRY_LIMIT",
    "SKIP_REVIEW",
)


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("grade", 0, ("grade",)),
        ("grade", 13, ("grade",)),
        ("candidate_count", 0, ("candidate_count",)),
        ("candidate_count", 11, ("candidate_count",)),
        ("modes", ["options", "essay"], ("modes", 1)),
        ("modes", [], ("modes",)),
        ("items_per_group", 0, ("items_per_group",)),
        ("subject", "", ("subject",)),
    ],
)
def test_a_bad_request_event_names_the_field(field: str, value: Any, loc: tuple[Any, ...]) -> None:
    values: dict[str, Any] = {"course_id": uuid.uuid4(), "subject": "math", "grade": 4}
    values[field] = value
    with pytest.raises(ValidationError) as err:
        CourseRequested(**values)
    assert [tuple(e["loc"]) for e in err.value.errors()] == [loc]


def test_modes_must_be_distinct() -> None:
    with pytest.raises(ValidationError, match="modes must be distinct"):
        CourseRequested(course_id=uuid.uuid4(), subject="m", grade=1, modes=["options", "options"])


# Settings ----------------------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in SEED_FLAGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"NLS_{name}", raising=False)
    yield monkeypatch


def test_the_seeds_defaults(clean_env: pytest.MonkeyPatch) -> None:
    s = CourseSettings()
    assert (s.use_candidates, s.candidate_count, s.min_viable_score) == (False, 3, 0.40)
    assert (s.review_threshold, s.quality_retry_limit, s.skip_review) == (0.60, 1, False)


def test_every_flag_works_under_its_own_name(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in zip(SEED_FLAGS, ("0", "5", "0.30", "0.50", "2", "1"), strict=True):
        clean_env.setenv(name, value)
    s = CourseSettings()
    assert (s.use_candidates, s.candidate_count, s.min_viable_score) == (False, 5, 0.30)
    assert (s.review_threshold, s.quality_retry_limit, s.skip_review) == (0.50, 2, True)
    clean_env.setenv("NLS_CANDIDATE_COUNT", "4")
    clean_env.delenv("CANDIDATE_COUNT")
    assert CourseSettings().candidate_count == 4


def test_use_candidates_forces_quality_retry_limit_to_zero(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("USE_CANDIDATES", "1")
    clean_env.setenv("QUALITY_RETRY_LIMIT", "3")
    assert CourseSettings().quality_retry_limit == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [("CANDIDATE_COUNT", "0"), ("CANDIDATE_COUNT", "11"), ("MIN_VIABLE_SCORE", "1.5")],
)
def test_bad_flags_are_refused_naming_them(
    clean_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        CourseSettings()
    assert err.value.errors()[0]["loc"] == (name,)


# HTTP API -----------------------------------------------------------------------------------
class _Row:
    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


class _Result:
    def __init__(self, row: dict[str, Any] | None) -> None:
        self.row = row

    def first(self) -> _Row | None:
        return _Row(self.row) if self.row is not None else None

    def __iter__(self) -> Iterator[_Row]:
        return iter([])


class FakeConn:
    """Answers each read of the courses table with the next of ``rows`` (the last stays)."""

    def __init__(self, *rows: dict[str, Any] | None) -> None:
        self.rows = list(rows)
        self.reads = 0

    async def execute(self, stmt: Any) -> _Result:
        self.reads += 1
        return _Result(self.rows.pop(0) if len(self.rows) > 1 else self.rows[0])

    async def rollback(self) -> None:
        return None


def course_row(status: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "course_id": uuid.uuid4(),
        "subject": "math",
        "grade": 4,
        "topic": None,
        "groups": 3,
        "items_per_group": 5,
        "modes": ["options", "numeric"],
        "strategy": "rules",
        "status": status,
        "method": "candidates",
        "candidate_count": 3,
        "selected_index": None,
        "selected_score": None,
        "min_viable_score": 0.4,
        "review_threshold": 0.6,
        "total_tokens": 0,
        "latency_ms": 10,
        "course": None,
        "valid": None,
        "issues": [],
        "error": None,
        "details": None,
        "warnings": [],
        "requested_at": T0,
        "finished_at": None,
    }
    row.update(kw)
    return row


def client(conn: FakeConn, pub: InMemoryPublisher) -> TestClient:
    app = FastAPI()
    app.include_router(api.router)

    async def fake_connection() -> Any:
        yield conn

    app.dependency_overrides[connection] = fake_connection
    app.dependency_overrides[publisher] = lambda: pub
    return TestClient(app)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"subject": "math", "grade": 13}, ["body", "grade"]),
        ({"subject": "math", "grade": 4, "candidate_count": 0}, ["body", "candidate_count"]),
        ({"subject": "math", "grade": 4, "modes": ["essay"]}, ["body", "modes", 0]),
        ({"subject": "math", "grade": 4, "strategy": "magic"}, ["body", "strategy"]),
        ({"subject": "math", "grade": 4, "colour": "red"}, ["body", "colour"]),
        ({"grade": 4}, ["body", "subject"]),
    ],
)
def test_the_api_refuses_bad_requests_naming_the_field(
    body: dict[str, Any], where: list[Any]
) -> None:
    pub = InMemoryPublisher()
    response = client(FakeConn(None), pub).post("/v1/courses", json=body)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [where]
    assert pub.events == []  # nothing published


def test_the_api_refuses_an_unbounded_wait() -> None:
    response = client(FakeConn(None), InMemoryPublisher()).post(
        "/v1/courses?wait=1000", json={"subject": "math", "grade": 4}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "wait"]


def test_a_request_is_published_and_accepted() -> None:
    pub = InMemoryPublisher()
    response = client(FakeConn(None), pub).post(
        "/v1/courses", json={"subject": "ccna", "grade": 10, "candidate_count": 4}
    )
    assert response.status_code == 202
    [event] = pub.events
    payload = event[1].payload_as(CourseRequested)
    assert response.json() == {
        "course_id": str(payload.course_id),
        "request_event_id": str(event[1].event_id),
        "status": "GENERATING",
    }
    assert payload.candidate_count == 4 and payload.subject == "ccna"


def test_waiting_answers_with_the_seeds_422_body() -> None:
    body = {
        "error": "candidate_scores_too_low",
        "code": "needs_attention",
        "details": {
            "maxScore": 0.38,
            "minViableScore": 0.4,
            "candidateCount": 3,
            "scores": [0.35, 0.38, 0.32],
        },
    }
    conn = FakeConn(
        course_row("GENERATING"),
        course_row("NEEDS_ATTENTION", error="candidate_scores_too_low", details=body),
    )
    response = client(conn, InMemoryPublisher()).post(
        "/v1/courses?wait=5", json={"subject": "math", "grade": 4}
    )
    assert response.status_code == 422 and response.json() == body
    assert conn.reads == 2


def test_waiting_answers_200_with_the_selected_course() -> None:
    course = {"title": "t", "groups": [{"title": "g", "items": []}]}
    row = course_row("SELECTED", selected_index=1, selected_score=0.9, course=course, valid=True)
    response = client(FakeConn(row), InMemoryPublisher()).post(
        "/v1/courses?wait=5", json={"subject": "math", "grade": 4}
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "SELECTED" and answer["course"] == course
    assert answer["summary"] == {
        "method": "candidates",
        "candidate_count": 3,
        "selected_index": 1,
        "selected_score": 0.9,
        "min_viable_score": 0.4,
        "total_tokens": 0,
        "latency_ms": 10,
    }


def test_still_generating_when_the_wait_ends_is_202() -> None:
    response = client(FakeConn(course_row("GENERATING")), InMemoryPublisher()).post(
        "/v1/courses?wait=0.3", json={"subject": "math", "grade": 4}
    )
    assert response.status_code == 202 and response.json()["status"] == "GENERATING"


def test_an_unknown_course_is_404() -> None:
    c = client(FakeConn(None), InMemoryPublisher())
    missing = uuid.uuid4()
    for path in (f"/v1/courses/{missing}", f"/v1/courses/{missing}/candidates"):
        response = c.get(path)
        assert response.status_code == 404 and str(missing) in response.json()["detail"]
    assert c.get("/v1/courses/not-a-uuid").status_code == 422


def test_a_course_reads_with_its_job_summary() -> None:
    row = course_row("GENERATING")
    answer = client(FakeConn(row), InMemoryPublisher()).get(f"/v1/courses/{row['course_id']}")
    assert answer.status_code == 200
    assert answer.json()["summary"]["method"] == "candidates"
    assert answer.json()["status"] == "GENERATING"


# CLI ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grade", "13"], "--grade: Input should be less than or equal to 12"),
        (["--grade", "4", "--candidates", "0"], "--candidates: Input should be greater than"),
        (["--grade", "4", "--modes", "essay"], "--modes: unknown mode 'essay'"),
        (["--grade", "4", "--strategy", "magic"], "--strategy: no strategy 'magic'"),
        (["--grade", "4", "--items-per-group", "50"], "--items-per-group: Input should be"),
    ],
)
def test_the_cli_refuses_bad_requests_naming_the_option(args: list[str], message: str) -> None:
    result = CliRunner().invoke(courses_app, ["request", "--subject", "math", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_the_cli_refuses_a_course_id_that_is_no_uuid() -> None:
    result = CliRunner().invoke(courses_app, ["show", "nope"])
    assert result.exit_code == 2 and "'nope' is not a course id" in result.output


def test_modes_parse() -> None:
    assert [m.value for m in parse_modes("numeric, options,numeric")] == ["numeric", "options"]
    with pytest.raises(ValueError, match="at least one"):
        parse_modes(" , ")
