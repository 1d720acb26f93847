"""The lessons HTTP endpoints: bounded parameters, the published request, the seed's
improve-lesson body, read through a fake of the read models' queries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from events.lessons import LessonImproveRequested, LessonRequested
from projections.lessons import LessonSummary, LessonView, VersionView
from services.api.deps import publisher
from services.bus.memory import InMemoryPublisher
from services.lessons import api
from tests.support.lessons import lesson_view

pytestmark = pytest.mark.unit

T0 = datetime(2026, 2, 6, 9, 0, tzinfo=UTC)


class FakeReader:
    def __init__(self, lesson: LessonView | None = None, verdict: VersionView | None = None):
        self.lesson_view = lesson
        self.verdict = verdict
        self.polls = 0

    async def lesson(self, lesson_id: str) -> LessonView | None:
        return (
            self.lesson_view
            if self.lesson_view and self.lesson_view.lesson_id == lesson_id
            else None
        )

    async def lessons(self, **kw: Any) -> list[LessonSummary]:
        return [self.lesson_view] if self.lesson_view else []

    async def versions(self, lesson_id: str) -> list[VersionView]:
        return list(self.lesson_view.versions) if self.lesson_view else []

    async def refinement(self, lesson_id: str, refinement_id: uuid.UUID) -> VersionView | None:
        self.polls += 1
        return self.verdict if self.polls >= 2 else None  # the verdict lands on the 2nd poll


def client(reader: FakeReader, pub: InMemoryPublisher) -> TestClient:
    app = FastAPI()
    app.include_router(api.router)
    app.dependency_overrides[api.lesson_reader] = lambda: reader
    app.dependency_overrides[publisher] = lambda: pub
    return TestClient(app)


def _verdict(**kw: Any) -> VersionView:
    values: dict[str, Any] = {
        "version_key": str(uuid.uuid4()),
        "version": 2,
        "trigger": "improve",
        "status": "current",
        "outcome": "accepted",
        "reason": "the candidate scores 93 >= 85; applied",
        "validation_failures": [],
        "original_score": 85.0,
        "score": 93.0,
        "applied": True,
        "shadow": False,
        "created_at": T0,
        "decided_at": T0,
    } | kw
    return VersionView(**values)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"pack": "CCNA!", "topic": "ospf"}, ["body", "pack"]),
        ({"pack": "ccna", "topic": ""}, ["body", "topic"]),
        ({"pack": "ccna", "topic": "x" * 201}, ["body", "topic"]),
        (
            {"pack": "ccna", "topic": "ospf", "mustHaveTopics": ["x"] * 13},
            ["body", "mustHaveTopics"],
        ),
        ({"pack": "ccna", "topic": "ospf", "strategy": "magic"}, ["body", "strategy"]),
        ({"pack": "ccna", "topic": "ospf", "lessonId": "no spaces"}, ["body", "lessonId"]),
        ({"pack": "ccna", "topic": "ospf", "colour": "red"}, ["body", "colour"]),
        ({"topic": "ospf"}, ["body", "pack"]),
    ],
)
def test_bad_requests_are_refused_naming_the_field(body: dict[str, Any], where: list[Any]) -> None:
    pub = InMemoryPublisher()
    response = client(FakeReader(), pub).post("/v1/lessons", json=body)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [where]
    assert pub.events == []


def test_an_unknown_pack_topic_or_prerequisite_is_refused() -> None:
    pub = InMemoryPublisher()
    c = client(FakeReader(), pub)
    assert c.post("/v1/lessons", json={"pack": "knitting", "topic": "x"}).status_code == 404
    topic = c.post("/v1/lessons", json={"pack": "ccna", "topic": "knitting"})
    assert topic.status_code == 422 and topic.json()["detail"][0]["loc"] == ["body", "topic"]
    prereq = c.post(
        "/v1/lessons", json={"pack": "ccna", "topic": "ospf", "prerequisites": ["knitting"]}
    )
    assert prereq.json()["detail"][0]["loc"] == ["body", "prerequisites"]
    assert pub.events == []


def test_a_lesson_request_is_published_with_its_material() -> None:
    pub = InMemoryPublisher()
    response = client(FakeReader(), pub).post(
        "/v1/lessons",
        json={
            "pack": "cg2365",
            "topic": "final-circuits",
            "mustHaveTopics": ["Only radial and ring final circuits"],
            "prerequisites": ["safe-isolation-procedure"],
            "strategy": "rules",
        },
    )
    assert response.status_code == 202
    [(_, event)] = pub.events
    request = event.payload_as(LessonRequested)
    assert response.json() == {
        "lessonId": request.lesson_id,
        "requestEventId": str(event.event_id),
        "concepts": [c.slug for c in request.material.focus],
    }
    assert request.lesson_id.startswith("cg2365-final-circuits-")
    assert request.unit == request.material.focus[0].cluster_name
    assert request.section == "final-circuits"
    assert [c.slug for c in request.material.prerequisites] == ["safe-isolation-procedure"]


def test_get_a_lesson_in_contract_order_or_404() -> None:
    view = lesson_view()
    c = client(FakeReader(view), InMemoryPublisher())
    got = c.get("/v1/lessons/cg-ring-1")
    assert got.status_code == 200
    orders = [b["order"] for b in got.json()["lesson"]["blocks"]]
    assert orders == sorted(orders) and orders[0] == 1
    assert c.get("/v1/lessons/nobody").status_code == 404
    assert c.get("/v1/lessons/" + "x" * 65).status_code == 422
    assert c.get("/v1/lessons?limit=0").status_code == 422
    assert c.get("/v1/lessons?limit=501").status_code == 422
    assert c.get("/v1/lessons?status=Bad!").status_code == 422
    assert [row["lesson_id"] for row in c.get("/v1/lessons").json()] == ["cg-ring-1"]


def test_improve_answers_the_seeds_body_once_the_verdict_is_in() -> None:
    pub = InMemoryPublisher()
    reader = FakeReader(lesson_view(), _verdict())
    response = client(reader, pub).post(
        "/v1/lessons/cg-ring-1/improve", json={"lessonId": "cg-ring-1"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "wasImproved": True,
        "originalScore": 85.0,
        "finalScore": 93.0,
        "scoreDelta": 8.0,
    }
    [(_, event)] = pub.events
    assert event.payload_as(LessonImproveRequested).lesson_id == "cg-ring-1"


def test_improve_with_validation_failures_lists_them() -> None:
    failures = ["structural: block count changed from 10 to 9"]
    verdict = _verdict(
        outcome="rejected_validation",
        status="rejected",
        applied=False,
        score=None,
        version=None,
        validation_failures=failures,
    )
    response = client(FakeReader(lesson_view(), verdict), InMemoryPublisher()).post(
        "/v1/lessons/cg-ring-1/improve"
    )
    assert response.json() == {
        "success": True,
        "wasImproved": False,
        "originalScore": 85.0,
        "finalScore": 85.0,
        "scoreDelta": 0.0,
        "validationFailures": failures,
    }


def test_improve_without_a_verdict_in_time_is_202_and_can_be_polled() -> None:
    reader = FakeReader(lesson_view(), _verdict())
    c = client(reader, InMemoryPublisher())
    pending = c.post("/v1/lessons/cg-ring-1/improve?wait_s=0")
    assert pending.status_code == 202 and pending.json()["status"] == "pending"
    rid = pending.json()["requestId"]
    assert c.get(f"/v1/lessons/cg-ring-1/improvements/{rid}").json()["wasImproved"] is True
    assert c.post("/v1/lessons/nobody/improve").status_code == 404
    assert c.post("/v1/lessons/cg-ring-1/improve?wait_s=500").status_code == 422
    mismatch = c.post("/v1/lessons/cg-ring-1/improve", json={"lessonId": "other"})
    assert mismatch.status_code == 422
