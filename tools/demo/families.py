"""The demo's generator families beyond remediation: a drill series (GNU Backgammon), a
strength session, a worksheet course, a lesson. Each goes through the API like an app would."""

from __future__ import annotations

import shutil
import uuid
from typing import Any

import orjson
from rich.markup import escape
from rich.table import Table

from events.training import JITInput
from tools.demo.stage import PACKS, Demo

__all__ = ["show_course", "show_drills", "show_lesson", "show_strength"]

EXAMPLES = PACKS.parent / "examples"


async def show_drills(demo: Demo) -> None:
    """A position library from GNU Backgammon, then a 10-drill series in batches of 5."""
    from services.drills.engine import GNUBG, GnubgEngine
    from services.drills.library import build_library, seeded_events

    if shutil.which(GNUBG) is None:
        demo.console.print(
            "[yellow]drill series skipped: GNU Backgammon (the drills' ground truth) is not "
            "installed. Install it with `apt-get install gnubg` (Debian/Ubuntu) and run "
            "`nls demo` again.[/]"
        )
        return
    with demo.console.status("analysing opening and self-play positions with GNU Backgammon"):
        async with GnubgEngine(size=2) as gnubg:
            positions = await build_library(gnubg, per_phase=4, seed=7, max_games=3)
        await demo.publish(seeded_events(positions))

        async def projected() -> bool:
            return (await demo.rows("positions"))[0] >= len(positions)

        await demo.until(projected, "the position library")
    demo.console.print(f"position library: {len(positions)} positions analysed by gnubg")
    artifact = uuid.uuid4()
    request = {
        "event_type": "drill-series-requested",
        "payload": {
            "artifact_id": str(artifact),
            "project_id": "demo",
            "target_drill_count": 10,
            "game_phases": ["OPENING", "EARLY"],
            "seed": 7,
        },
    }
    (await demo.http.post("/v1/events", json=request)).raise_for_status()

    async def finished() -> Any:
        r = await demo.http.get(f"/v1/drill-series/{artifact}")
        body = r.json() if r.status_code == 200 else None
        return body if body and body["status"] in ("COMPLETED", "FAILED") else None

    with demo.console.status("generating the drill series in batches of 5"):
        series = await demo.until(finished, "the drill series")
    demo.console.print(
        f"GET /v1/drill-series/{artifact}: {series['status']}: Generated "
        f"{series['drills_generated']}/{series['target_drills']} drills "
        f"(Batch {series['completed_batches']}/{series['total_batches']})"
    )
    table = Table("#", "dice", "question", "best play", "principle", title="the first drills")
    for row in series["drills"][:3]:
        drill = row["drill"] or {}
        table.add_row(
            str(row["index"]),
            row["dice"],
            drill.get("question", row["error"] or "-"),
            drill.get("best_move", "-"),
            drill.get("principle", "-"),
        )
    demo.console.print(table)


async def show_strength(demo: Demo) -> None:
    """The example session (examples/session.json) adjusted just in time."""
    session = JITInput.model_validate_json((EXAMPLES / "session.json").read_bytes())
    session_id = f"demo-{uuid.uuid4().hex[:8]}"
    request = {
        "event_type": "session-jit-requested",
        "payload": {
            "session_id": session_id,
            "lifter_id": "demo-lifter",
            "input": orjson.loads(
                session.model_copy(update={"session_id": session_id}).model_dump_json()
            ),
        },
    }
    (await demo.http.post("/v1/events", json=request)).raise_for_status()

    async def adjusted() -> Any:
        r = await demo.http.get(f"/v1/training-sessions/{session_id}")
        return r.json() if r.status_code == 200 else None

    with demo.console.status("adjusting today's strength session"):
        found = await demo.until(adjusted, "the strength session")
    plan = found["session"]
    table = Table("", "sets x reps @ kg", title=f"session {session_id} ({found['jit_strategy']})")
    for label, sets in (("warm-up", plan["warmup"]), (plan["main_lift"], plan["working_sets"])):
        table.add_row(
            label, ", ".join(f"{s['reps']} @ {s['weight_kg']:g}" for s in sets) or "skipped"
        )
    demo.console.print(table)
    for line in found["rationale"][:3]:
        demo.console.print(f"- {line}")


async def show_course(demo: Demo) -> None:
    """A grade-4 math worksheet: 3 candidates in parallel, each scored alone, the best kept."""
    body = {"subject": "math", "grade": 4, "candidate_count": 3}
    with demo.console.status("generating 3 course candidates and scoring them"):
        r = await demo.http.post("/v1/courses", params={"wait": 60}, json=body)
    answer = r.json()
    if r.status_code != 200:
        demo.console.print(f"POST /v1/courses?wait=60: {r.status_code} {answer}")
        return
    course_id = answer["course_id"]
    candidates = (await demo.http.get(f"/v1/courses/{course_id}/candidates")).json()
    table = Table("#", "approach", "temp.", "score", "status", title="the K candidates")
    for c in candidates:
        table.add_row(
            str(c["candidate_index"]),
            c["approach"],
            f"{c['temperature']:.1f}",
            "-" if c["score"] is None else f"{c['score']:.3f}",
            c["status"],
        )
    demo.console.print(table)
    job = answer["summary"]
    course = answer["course"]
    demo.console.print(
        f"POST /v1/courses?wait=60: 200: {course['title']!r}, candidate "
        f"{job['selected_index']} of {job['candidate_count']} selected (score "
        f"{job['selected_score']:.3f}) in {job['latency_ms']:.0f} ms"
    )
    for item in course["groups"][0]["items"][:3]:
        given = item["answer"] if item["answer"] else item["options"][item["correct_index"]]
        demo.console.print(f"  {escape(item['text'])}  ->  {escape(str(given))}")


async def show_lesson(demo: Demo) -> None:
    """A C&G 2365 lesson on ring final circuits: ten phases, scored, improved if below 97."""
    body = {
        "pack": "cg2365",
        "topic": "ring-final-circuit",
        "mustHaveTopics": ["ring final circuit", "spur"],
    }
    r = await demo.http.post("/v1/lessons", json=body)
    if r.status_code != 202:
        demo.console.print(f"POST /v1/lessons: {r.status_code} {r.json()}")
        return
    lesson_id = r.json()["lessonId"]

    async def finished() -> Any:
        got = await demo.http.get(f"/v1/lessons/{lesson_id}")
        view = got.json() if got.status_code == 200 else None
        return view if view and view["status"] in ("completed", "failed") else None

    with demo.console.status("running the ten lesson phases"):
        view = await demo.until(finished, "the lesson")
    table = Table("#", "phase", "status", "ms", title=f"lesson {lesson_id}")
    for p in view["phases"]:
        table.add_row(str(p["number"]), p["phase"], p["status"], str(p["duration_ms"] or "-"))
    demo.console.print(table)
    demo.console.print(
        f"GET /v1/lessons/{lesson_id}: {view['status']}, {view['title']!r}, score "
        f"{view['score']}, version {view['current_version']}"
    )
    blocks = (view["lesson"] or {}).get("blocks", [])
    demo.console.print(
        "blocks in contract order: " + ", ".join(f"{b['order']} {b['type']}" for b in blocks)
    )
