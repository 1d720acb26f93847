"""The web console through the ASGI app, against the real broker, Postgres and agents: sign-in,
sessions and CSRF; every page with real flows behind it (a drill series on positions GNU
Backgammon analysed, a course, a lesson and its improvement, a learner's remediation, a dead
letter replayed, a workflow)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from html import unescape
from typing import Any

import httpx
import pytest

from events import Context, Envelope
from events.drills import GamePhase, PositionSeeded
from projections.db import make_engine
from services.api.app import create_app
from services.api.console.board import STARTING_POSITION, Board, encode_position_id
from services.bus.producer import EventPublisher
from services.drills.engine import GnubgEngine
from services.drills.library import OPENING_ROLLS
from services.settings import Settings
from tests.support.helpers import answer_event, background, query_rows, wait_until
from tests.support.jit import ccna
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration

TOKEN = "test-token"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# the seed's status lines
IMPROVE_LINE = re.compile(
    r"Improved! Score: [\d.]+ -> [\d.]+ \(\+[\d.]+\)|Validation failed: .+|Score did not improve"
)


def side(**points: int) -> tuple[int, ...]:
    counts = [0] * 25
    for name, n in points.items():
        counts[int(name[1:]) - 1] = n
    return tuple(counts)


# Bear-offs built here and encoded by the console's own encoder: gnubg refuses an id it
# does not read back identically, so analysing them checks the encoder too.
BEAROFFS = (
    Board(side(p1=2, p2=2, p3=1, p5=2, p6=2), side(p1=3, p2=2, p4=2)),
    Board(side(p2=3, p4=3, p6=3), side(p3=4, p5=3)),
    Board(side(p1=1, p3=2, p4=2, p6=4), side(p2=5, p6=1)),
)
BEAROFF_ROLLS = ((6, 5), (4, 2), (3, 1))


async def console_library() -> list[Envelope]:
    """The 21 opening rolls and nine bear-offs, each analysed by GNU Backgammon."""
    now = datetime.now(UTC)
    wanted = [(STARTING_POSITION, roll, GamePhase.OPENING) for roll in OPENING_ROLLS] + [
        (encode_position_id(b), roll, GamePhase.BEAROFF) for b in BEAROFFS for roll in BEAROFF_ROLLS
    ]
    async with GnubgEngine(size=2) as gnubg:
        events = []
        for position_id, roll, phase in wanted:
            moves = await gnubg.analyse(position_id, roll)
            if len(moves) < 2:
                continue  # a forced play makes no drill
            seeded = PositionSeeded(
                engine_id="gnubg",
                position_id=position_id,
                dice=roll,
                phase=phase,
                candidate_moves=moves,
                created_at=now,
                ply=0,
            )
            events.append(Envelope.new(seeded, source="test"))
    return events


# the console as a browser sees it ---------------------------------------------------------
def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found[1]


def text_of(html: str) -> str:
    """The page's text, tags dropped and whitespace folded (what a person reads)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@asynccontextmanager
async def console(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API app in this process and a cookie-keeping client without the bearer token."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nls") as client,
    ):
        yield client


async def sign_in(
    client: httpx.AsyncClient, token: str = TOKEN, target: str = "/console/generate"
) -> httpx.Response:
    form = await client.get("/console/sign-in", params={"next": target})
    assert form.status_code == 200
    data = {"token": token, "csrf": csrf_of(form.text), "next": target}
    return await client.post("/console/sign-in", data=data)


async def submit(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, Any]
) -> httpx.Response:
    """Fill a form of ``page`` (with its CSRF token) and post it to ``action``."""
    html = (await client.get(page)).text
    return await client.post(action, data={"csrf": csrf_of(html), **data})


async def follow(client: httpx.AsyncClient, url: str, *, timeout: float = 90.0) -> str:
    """Poll a live fragment, as the page's script does, until it says it is final."""

    async def poll() -> httpx.Response:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        return response

    last = await wait_until(
        poll,
        lambda r: r.headers.get("x-console-final") == "1",
        timeout=timeout,
        interval=0.3,
        what=f"{url} to finish",
    )
    return last.text


# sessions and CSRF --------------------------------------------------------------------------
async def test_sign_in_sessions_and_csrf(settings: Settings) -> None:
    async with console(settings) as client:
        # no session: pages redirect to sign-in, fragments answer 401, assets are open
        page = await client.get("/console/drills", params={"series": "x"})
        assert page.status_code == 303
        assert page.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fdrills%3Fseries%3Dx"
        live = await client.get(f"/console/drills/{uuid.uuid4()}/live")
        assert live.status_code == 401 and "sign in again" in live.text
        assert (await client.get("/console/static/console.css")).status_code == 200
        assert (await client.get("/console/static/nothing.js")).status_code == 404
        form = await client.get("/console/sign-in")
        assert 'method="post" action="/console/sign-in"' in form.text
        assert 'type="password"' in form.text

        # a wrong token is refused, and gives no session
        wrong = await sign_in(client, token="not-the-token")
        assert wrong.status_code == 401 and "That is not the API token." in wrong.text
        assert not any(c.startswith("nls_console=") for c in wrong.headers.get_list("set-cookie"))
        assert (await client.get("/console/generate")).status_code == 303

        # a sign-in form posted without its pre-session cookie or CSRF token is refused
        async with httpx.AsyncClient(
            transport=client._transport, base_url="http://nls"
        ) as stranger:  # fmt: skip
            forged = await stranger.post("/console/sign-in", data={"token": TOKEN, "csrf": "x"})
            assert forged.status_code == 403 and "refused" in forged.text
            assert not any(
                c.startswith("nls_console=") for c in forged.headers.get_list("set-cookie")
            )

        # the right token: a session cookie (HttpOnly, SameSite=Strict, the console only)
        ok = await sign_in(client, target="https://elsewhere.example/")
        assert ok.status_code == 303 and ok.headers["location"] == "/console/generate"
        cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith("nls_console="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        assert TOKEN not in cookie
        page = await client.get("/console/operations")
        assert page.status_code == 200 and "Dead letters" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        # the session opens the console only: the API keeps needing the bearer token
        assert (await client.get("/v1/dead-letters")).status_code == 401
        assert (await client.get("/openapi.json")).status_code == 401
        assert all("/console" not in p for p in (await client.get(
            "/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}
        )).json()["paths"])  # fmt: skip

        # a form without its CSRF token (or with another's) does nothing
        for csrf in (None, "forged"):
            data = {"drills": "5", "phases": "OPENING"} | ({"csrf": csrf} if csrf else {})
            refused = await client.post("/console/drills", data=data)
            assert refused.status_code == 403 and "CSRF" in refused.text
        recent = await client.get("/console/drills")
        assert "No series yet" in recent.text or "not built yet" in recent.text

        # sign out: the cookie goes, and a copy of it stops working
        copied = client.cookies.get("nls_console", path="/console")
        assert copied is not None
        out = await submit(client, "/console/operations", "/console/sign-out", {})
        assert out.status_code == 303 and out.headers["location"].endswith("signed_out=1")
        assert (await client.get("/console/operations")).status_code == 303
        client.cookies.set("nls_console", copied, path="/console")
        assert (await client.get("/console/operations")).status_code == 303


# the pages, with the platform running -------------------------------------------------------
async def test_drills_page_follows_a_series_to_its_boards(settings: Settings) -> None:
    library = await console_library()
    async with EventPublisher(settings) as pub:
        await pub.publish(library)
    engine = make_engine(settings)
    async with (
        background(
            projector(settings, "positions", "drills", "workflows"),
            agent(settings, "drill-orchestrator"),
            agent(settings, "drill-batches"),
            agent(settings, "drill-series"),
        ),
        console(settings) as client,
    ):
        await wait_until(
            lambda: query_rows(engine, "SELECT count(*) FROM positions"),
            lambda r: bool(r) and r[0][0] == len(library),
            what="the library in its read model",
        )
        await sign_in(client)
        refused = await submit(
            client, "/console/drills", "/console/drills", {"drills": "0", "phases": "OPENING"}
        )
        assert refused.status_code == 422 and "Drills must be between 1 and 200" in refused.text
        asked = await submit(
            client,
            "/console/drills",
            "/console/drills",
            {"drills": "10", "phases": ["BEAROFF", "OPENING"], "batch_size": "5", "seed": "3"},
        )
        assert asked.status_code == 303
        series = asked.headers["location"].split("series=")[1]
        page = await client.get(asked.headers["location"])
        assert f'data-live="/console/drills/{series}/live"' in page.text
        done = await follow(client, f"/console/drills/{series}/live")
    await engine.dispose()
    shown = text_of(done)
    assert "COMPLETED" in shown and "Generated 10/10 drills (Batch 2/2)" in shown
    assert done.count('<svg xmlns="http://www.w3.org/2000/svg" class="board"') == 10
    assert "White is on roll to play" in done and "(best play)" in shown
    assert "Why the other options are worse" in shown
    assert shown.count("Principle:") == 10
    # bear-offs first (their phase was asked first), then the opening: both drawn
    assert re.search(r"White: [^;]*; [1-9]\d* borne off", done), "no bear-off was drawn"
    assert "White: 2 on 24, 5 on 13, 3 on 8, 5 on 6; 0 borne off" in done
    assert "Drill 1 · Bearoff" in shown and "Drill 10 · Opening" in shown


async def test_courses_page_shows_candidates_and_the_worksheet(settings: Settings) -> None:
    agents = [agent(settings, a) for a in ("course-orchestrator", "course-candidates")]
    agents += [agent(settings, a) for a in ("course-reviews", "course-selection")]
    async with (
        background(projector(settings, "courses"), *agents),
        console(settings) as client,
    ):
        await sign_in(client)
        asked = await submit(
            client,
            "/console/courses",
            "/console/courses",
            {
                "subject": "math",
                "grade": "4",
                "groups": "2",
                "items_per_group": "4",
                "modes": ["options", "numeric"],
                "candidate_count": "3",
                "use_candidates": "on",
                "strategy": "rules",
            },
        )
        assert asked.status_code == 303, asked.text
        course = asked.headers["location"].split("course=")[1]
        done = await follow(client, f"/console/courses/{course}/live")
        listed = await client.get("/console/courses")
    shown = text_of(done)
    assert "SELECTED" in shown and "3 of 3 candidate(s) scored" in shown
    for label in ("Schema validity (30%)", "Placeholders (20%)", "Self-review (15%)"):
        assert label in shown
    assert done.count('<th scope="col"') == 1 + 3  # the label column and K candidates
    assert "Selected worksheet:" in shown and "(correct)" in shown and "Answer:" in shown
    assert course in listed.text


async def test_generate_page_makes_and_improves_a_lesson(settings: Settings) -> None:
    names = ("lesson-phases", "lesson-scorer", "lesson-rewriter", "lesson-pipeline")
    async with (
        background(projector(settings, "lessons"), *(agent(settings, n) for n in names)),
        console(settings) as client,
    ):
        await sign_in(client)
        page = await client.get("/console/generate")
        assert '<datalist id="topics-cg2365">' in page.text
        unknown = await submit(
            client, "/console/generate", "/console/generate", {"pack": "cg2365", "topic": "zzz"}
        )
        assert unknown.status_code == 422 and 'aria-invalid="true"' in unknown.text
        asked = await submit(
            client,
            "/console/generate",
            "/console/generate",
            {"pack": "cg2365", "topic": "Final circuits", "strategy": "rules"},
        )
        assert asked.status_code == 303, asked.text
        lesson = asked.headers["location"].split("lesson=")[1]
        done = await follow(client, f"/console/generate/lessons/{lesson}/live", timeout=120)
        improved = await submit(
            client, "/console/generate", "/console/generate/improve", {"lesson": lesson}
        )
        assert improved.status_code == 303
        request_id = improved.headers["location"].split("improvement=")[1]
        verdict = await follow(
            client,
            f"/console/generate/lessons/{lesson}/improvements/{request_id}/live",
            timeout=120,
        )
        again = await client.get(improved.headers["location"])
    shown = text_of(done)
    assert 'data-status="waiting"' not in done and 'data-status="requested"' not in done
    assert "completed" in shown and "1. Planning" in shown and "9. Assembler" in shown
    orders = [
        float(o) for o in re.findall(r'class="block [^"]*" id="[^"]*" data-order="([\d.]+)"', done)
    ]
    assert len(orders) >= 5 and orders == sorted(orders)  # the contract's order
    assert "Learning outcomes" in shown and "Vocabulary" in shown
    line = text_of(verdict)
    assert IMPROVE_LINE.fullmatch(line), line
    assert line in text_of(again.text)  # the page shows the verdict beside the button


async def test_learners_and_operations_pages(settings: Settings) -> None:
    pack = ccna()
    concept = next(c for c in pack.concepts if c.facts)
    answers = [
        answer_event("ada", concept=concept.concept_id, question_id="q1", rt=6000),
        answer_event("ada", concept=concept.concept_id, question_id="q2", correct=True),
    ]
    topic = settings.topics().domain(Context.LEARNING)
    async with EventPublisher(settings) as pub:
        await pub.publish(pack.events())
        await pub.send_raw(topic, b"ada", b'{"event_type": "answer-submitted", "oops": 1}', [])
    engine = make_engine(settings)
    async with (
        background(
            projector(settings),
            agent(settings, "diagnoser"),
            agent(settings, "remediation"),
            agent(settings, "jit"),
        ),
        console(settings) as client,
    ):
        # the pack in the content read model first: JIT generation reads its facts there
        await wait_until(
            lambda: query_rows(engine, "SELECT count(*) FROM concepts"),
            lambda r: bool(r) and r[0][0] == len(pack.concepts),
            what="the pack's concepts",
        )
        await engine.dispose()
        async with EventPublisher(settings) as pub:
            await pub.publish(answers)
        await sign_in(client)

        async def learner() -> str:
            return (await client.get("/console/learners", params={"learner": "ada"})).text

        def complete(page: str) -> bool:
            # the learning and remediation read models fill in independently
            t = text_of(page)
            return (
                "wrong" in t
                and "correct" in t
                and "encoding.first_miss" in t
                and bool(re.search(r"(flashcard|cloze|mcq) (existing|jit)", t))
            )

        page = await wait_until(learner, complete, timeout=60, what="ada's answers and plan")

        async def operations() -> str:
            return (await client.get("/console/operations")).text

        ops = await wait_until(
            operations, lambda t: "invalid_payload" in t and "answer-submitted" in t,
            timeout=60, what="the dead letter and the workflows",
        )  # fmt: skip
        letter = re.search(r'href="(/console/operations/dead-letters/[^"]+)"', ops)
        assert letter
        opened = await client.get(letter[1])
        replayed = await submit(client, letter[1], letter[1] + "/replay", {})
        assert replayed.status_code == 303 and replayed.headers["location"].endswith("replayed=1")
        after = await client.get(replayed.headers["location"])
        again = await submit(client, letter[1], letter[1] + "/replay", {})
        assert again.headers["location"].endswith("replayed=0")  # replayed once only
        marked = await wait_until(
            lambda: client.get(letter[1]),
            lambda r: "not yet" not in text_of(r.text).split("Replayed")[1][:40],
            timeout=30, what="the replay mark",
        )  # fmt: skip
        flow = re.search(
            r'href="(/console/operations/workflows/[^"]+)">[^<]*</a></td><td>answer-submitted', ops
        )
        assert flow
        workflow = await client.get(flow[1])
        missing = await client.get(f"/console/operations/workflows/{uuid.uuid4()}")
    shown = text_of(page)
    assert concept.name in shown and "wrong" in shown and "correct" in shown
    assert "encoding_error" in shown and "Evidence" in shown and "encoding.first_miss" in shown
    assert "Remediation plans" in shown and re.search(
        r"(flashcard|cloze|mcq) (existing|jit)", shown
    )
    ops_text = text_of(ops)
    for part in ("Projector lag", "workflows", "Model usage and cost by family", "jit"):
        assert part in ops_text
    detail = text_of(opened.text)
    assert "Original (json," in detail and '"oops": 1' in detail and "invalid_payload" in detail
    assert "Replayed: the original went back" in text_of(after.text)
    assert "not yet" not in text_of(marked.text).split("Replayed")[1][:40]
    steps = re.findall(r'class="event-type">([a-z-]+)<', workflow.text)
    assert steps[:2] == ["answer-submitted", "failure-diagnosed"]
    assert "remediation-planned" in steps
    assert missing.status_code == 404 and "No such workflow" in missing.text
