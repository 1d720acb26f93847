"""The JIT remediation flow through the broker into Postgres: wrong answers become
diagnoses, plans and generated atoms; a duplicate answer changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from events import Context, decode, utcnow
from events.content import ConceptImported
from projections.checksum import checksum
from projections.db import make_engine
from projections.replay import rebuild
from services.bootstrap import bootstrap
from services.bus.producer import EventPublisher
from services.content.pack import concept_uuid
from services.settings import Settings
from tests.support.helpers import (
    answer_event,
    background,
    count_rows,
    query_rows,
    read_topic,
    wait_until,
)
from tests.support.jit import ccna, publish
from tests.support.platform import agent, projector

pytestmark = pytest.mark.integration


def wrong(learner: str, concept: uuid.UUID, **kw: Any) -> Any:
    return answer_event(learner, concept=concept, question_id=f"q-{learner}", **kw)


async def test_wrong_answers_get_remediation_plans(settings: Settings) -> None:
    pack = ccna()
    await publish(settings, pack.events())
    by_slug: dict[str, ConceptImported] = {c.slug: c for c in pack.concepts}
    authored = {c.concept_id: 0 for c in pack.concepts}
    for a in pack.atoms:
        authored[a.concept_id] += 1
    bare = next(c for c in pack.concepts if authored[c.concept_id] == 0 and c.facts)
    practice = {"flashcard", "mcq", "cloze"}  # what suits a retrieval error
    known = next(
        c
        for c in pack.concepts
        if sum(a.concept_id == c.concept_id and a.atom_type in practice for a in pack.atoms) >= 3
    )
    ospf = by_slug["ospf"]
    eigrp = by_slug["eigrp"]  # authored: a cloze and an mcq, both suit discrimination
    t0 = utcnow()
    dup = wrong("dup", bare.concept_id, rt=7000)
    answers = [
        wrong("enc", bare.concept_id, rt=6000),  # never right -> encoding_error
        answer_event("ret", concept=known.concept_id, correct=True, question_id="q0"),
        wrong("ret", known.concept_id),  # right before -> retrieval_error
        wrong("dis", eigrp.concept_id, answer_concept_id=ospf.concept_id),  # discrimination
        wrong("exe", bare.concept_id, rt=900),  # too fast -> executive_error
        answer_event(
            "tired", concept=ospf.concept_id, correct=True, occurred_at=t0, question_id="q0"
        ),
        wrong("tired", ospf.concept_id, occurred_at=t0 + timedelta(minutes=50)),  # fatigue
        dup,
        dup,  # the same answer delivered twice
    ]
    engine = make_engine(settings)
    try:
        async with background(
            projector(settings),
            agent(settings, "diagnoser"),
            agent(settings, "remediation"),
            agent(settings, "jit"),
        ):
            await wait_until(
                lambda: count_rows(engine, "concepts"),
                lambda n: n == len(pack.concepts),
                what="concepts imported",
            )
            await publish(settings, answers)
            plans = await wait_until(
                lambda: query_rows(
                    engine,
                    "SELECT learner_id, fail_mode, atom_count, jit_requested, "
                    "jit_generated, suggest_break, practice_only, from_cache "
                    "FROM remediation_plans ORDER BY learner_id",
                ),
                lambda r: len(r) == 6,
                timeout=60,
                what="6 plans",
            )
            # The repeated failed_question for `bare` (enc, dup) hits the JIT cache.
            await wait_until(
                lambda: count_rows(engine, "learning_atoms", "WHERE 'jit_generated' = ANY(tags)"),
                lambda n: n >= 5,
                what="generated atoms",
            )
            await asyncio.sleep(1.0)  # let any duplicate work land before counting
            generated = await query_rows(
                engine,
                "SELECT trigger, count(*) FROM learning_atoms "
                "WHERE 'jit_generated' = ANY(tags) GROUP BY trigger",
            )
        # Replay rebuilds the same read models from the log.
        for name in ("content", "remediation", "generation_usage"):
            projection = bootstrap(settings).projection(name)
            live, _ = await checksum(engine, projection)
            async with EventPublisher(settings) as pub:
                await rebuild(projection, settings=settings, engine=engine, publisher=pub)
            assert (await checksum(engine, projection))[0] == live, name
    finally:
        await engine.dispose()

    by_learner = {r.learner_id: r for r in plans}
    assert by_learner["enc"].fail_mode == "encoding_error"
    assert by_learner["enc"].jit_requested and by_learner["enc"].jit_generated == 5
    assert by_learner["enc"].atom_count == 5
    assert by_learner["ret"].fail_mode == "retrieval_error" and not by_learner["ret"].jit_requested
    assert by_learner["ret"].atom_count == 3
    dis = by_learner["dis"]
    assert dis.fail_mode == "discrimination_error" and dis.jit_requested
    assert dis.atom_count == 5 and dis.jit_generated == 3
    assert by_learner["exe"].practice_only and not by_learner["exe"].jit_requested
    assert by_learner["tired"].suggest_break and by_learner["tired"].atom_count == 0
    # enc and dup failed on the same concept with the same fail mode: whichever request
    # came second was served from the JIT cache.
    assert sorted([by_learner["enc"].from_cache, by_learner["dup"].from_cache]) == [False, True]
    assert dict(generated) == {"failed_question": 5 + 3}  # bare's 5 (once) + eigrp's 3

    # One generation per request however often it was delivered.
    content = await read_topic(settings, settings.topics().domain(Context.CONTENT))
    results = [
        decode(r.value)
        for r in content
        if b"atoms-generated" in (r.headers[0][1] if r.headers else b"")
    ]
    requests = {e.payload.request_event_id for e in results}
    assert len(requests) == len({e.event_id for e in results}) == 3  # enc, dis, dup
    plan_events = [
        decode(r.value)
        for r in await read_topic(settings, settings.topics().domain(Context.LEARNING))
        if dict(r.headers).get("event_type") == b"remediation-planned"
    ]
    assert len({e.event_id for e in plan_events}) == 6


async def test_the_ospf_concept_uuid_is_what_the_pack_says() -> None:
    assert concept_uuid("ccna", "ospf") == next(
        c.concept_id for c in ccna().concepts if c.slug == "ospf"
    )
