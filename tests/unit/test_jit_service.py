"""JITGenerationService on an in-memory store: the triggers, counts, tags, cache,
errors that never block, and the llm strategy with its fallback."""

from __future__ import annotations

import pytest

from events.content import Atom, AtomType, ContentType, GenerationTrigger
from events.learning import FailMode
from services.generation.gateway import Gateway
from services.generation.memory import ScriptedProvider
from services.remediation.rules import AtomTask, make_atoms
from services.remediation.service import AtomSaveError, JITGenerationService, JitRequest
from services.remediation.store import MemoryContentStore
from services.remediation.verify import problems
from tests.support.content import CONCEPTS, EIGRP, EMPTY, OSPF, RIP, SUBNET_MASK

pytestmark = pytest.mark.unit


def existing(n: int) -> list[Atom]:
    task = AtomTask(OSPF, (EIGRP, RIP), ContentType.PRACTICE, (AtomType.FLASHCARD,), n)
    return make_atoms(task)


def service(atoms: list[Atom] = (), **kw: object) -> JITGenerationService:  # type: ignore[assignment]
    return JITGenerationService(MemoryContentStore.of(CONCEPTS, atoms), Gateway(), **kw)  # type: ignore[arg-type]


async def test_a_failed_question_fills_the_gap_to_five_with_tagged_atoms() -> None:
    jit = service(existing(1))
    result = await jit.generate_for_failed_question(
        OSPF.concept_id, "ada", FailMode.DISCRIMINATION_ERROR, existing_atom_count=1
    )
    assert len(result.atoms) == 4 and not result.errors and not result.from_cache
    assert [a.atom_type for a in result.atoms][:2] == [AtomType.TRUE_FALSE, AtomType.COMPARE]
    for atom in result.atoms:
        assert atom.tags == ["jit_generated", "trigger:failed_question"]
        assert atom.quality_score == 75.0 and atom.strategy == "rules"
        assert problems(atom, OSPF, (EIGRP, RIP)) == []
    assert result.usage[0].strategy == "rules" and result.usage[0].family == "jit"


async def test_integration_errors_get_worked_examples_first() -> None:
    result = await service().generate_for_failed_question(
        OSPF.concept_id, "ada", FailMode.INTEGRATION_ERROR, existing_atom_count=0
    )
    kinds = [a.atom_type for a in result.atoms]
    assert kinds[:3] == [AtomType.PARSONS, AtomType.SEQUENCE, AtomType.FLASHCARD] or kinds[0] in (
        AtomType.PARSONS,
        AtomType.SEQUENCE,
    )
    assert {a.content_type for a in result.atoms} == {
        ContentType.WORKED_EXAMPLE,
        ContentType.PRACTICE,
    }
    numeric = await service().generate_for_failed_question(
        SUBNET_MASK.concept_id, None, FailMode.INTEGRATION_ERROR, existing_atom_count=2
    )
    assert any(a.atom_type is AtomType.NUMERIC for a in numeric.atoms)


async def test_fatigue_generates_nothing() -> None:
    result = await service().generate_for_failed_question(
        OSPF.concept_id, "ada", FailMode.FATIGUE_ERROR, existing_atom_count=0
    )
    assert result.atoms == [] and result.errors == []


async def test_cache_hits_and_clear_counts() -> None:
    jit = service()
    first = await jit.generate_for_missing_coverage(OSPF.concept_id, 3)
    again = await jit.generate_for_missing_coverage(OSPF.concept_id, 3)
    assert again.from_cache and again.atoms == first.atoms and not first.from_cache
    await jit.generate_on_user_request(OSPF.concept_id, "ada", ContentType.EXPLANATION, 2)
    await jit.generate_on_user_request(EIGRP.concept_id, "ada")
    assert jit.clear_cache(OSPF.concept_id) == 2
    assert jit.clear_cache(OSPF.concept_id) == 0
    assert jit.clear_cache() == 1
    fresh = await jit.generate_for_missing_coverage(OSPF.concept_id, 3)
    assert not fresh.from_cache


async def test_concurrent_requests_for_one_key_generate_once() -> None:
    """A worker takes several requests at once: the second waits for the first's atoms."""
    import asyncio

    jit = service()
    first, second = await asyncio.gather(
        jit.generate_for_missing_coverage(OSPF.concept_id, 3),
        jit.generate_for_missing_coverage(OSPF.concept_id, 3),
    )
    assert sorted([first.from_cache, second.from_cache]) == [False, True]
    assert first.atoms == second.atoms


async def test_user_requests_of_one_type_make_new_atoms_each_time() -> None:
    store = MemoryContentStore.of(CONCEPTS)
    jit = JITGenerationService(store, Gateway())
    first = await jit.generate_on_user_request(OSPF.concept_id, "ada", ContentType.PRACTICE, 3)
    store.add(first.atoms)
    jit.clear_cache()
    second = await jit.generate_on_user_request(OSPF.concept_id, "ada", ContentType.PRACTICE, 3)
    assert {a.variant for a in first.atoms}.isdisjoint(a.variant for a in second.atoms)
    assert all(a.tags[1] == "trigger:user_request" for a in second.atoms)


async def test_proactive_takes_three_concepts_with_fewer_than_three_atoms() -> None:
    jit = service(existing(3))  # OSPF already has 3
    upcoming = [OSPF.concept_id, EIGRP.concept_id, RIP.concept_id, SUBNET_MASK.concept_id]
    results = await jit.proactive_generation("ada", upcoming)
    # Only the first 3 are considered, and OSPF is skipped.
    assert [r.concept_id for r in results] == [EIGRP.concept_id, RIP.concept_id]
    assert all(len(r.atoms) == 3 and r.trigger is GenerationTrigger.PROACTIVE for r in results)

    one_each = service(existing(2))
    (r,) = await one_each.proactive_generation("ada", [OSPF.concept_id])
    assert len(r.atoms) == 1


async def test_no_source_content_warns_and_returns_nothing() -> None:
    for concept_id in (EMPTY.concept_id, SUBNET_MASK.concept_id.__class__(int=7)):
        result = await service().generate_for_missing_coverage(concept_id, 3)
        assert result.atoms == [] and "no source content" in result.errors[0]


async def test_a_failed_save_skips_that_atom_only() -> None:
    class Refuses:
        def __init__(self) -> None:
            self.saved: list[Atom] = []

        def save(self, atom: Atom) -> None:
            if atom.atom_type is AtomType.MCQ:
                raise AtomSaveError(f"unique violation on {atom.atom_id}")
            self.saved.append(atom)

    sink = Refuses()
    result = await service(sink=sink).generate_for_missing_coverage(OSPF.concept_id, 3)
    assert len(result.atoms) == 2 and AtomType.MCQ not in {a.atom_type for a in result.atoms}
    assert result.atoms == sink.saved
    assert any("atom skipped: unique violation" in e for e in result.errors)


def drafts_for(task_types: tuple[AtomType, ...], count: int, content_type: ContentType) -> dict:  # type: ignore[type-arg]
    task = AtomTask(OSPF, (EIGRP, RIP), content_type, task_types, count)
    return {
        "atoms": [
            {"body": a.body.model_dump(mode="json"), "source_fact_basis": a.source_fact_basis}
            for a in make_atoms(task)
        ]
    }


async def test_the_llm_strategy_is_checked_against_the_facts_and_falls_back() -> None:
    good = drafts_for((AtomType.FLASHCARD, AtomType.MCQ, AtomType.CLOZE), 3, ContentType.PRACTICE)
    provider = ScriptedProvider().then(good)
    jit = JITGenerationService(MemoryContentStore.of(CONCEPTS), Gateway([provider]))
    made = await jit.generate_for_missing_coverage(OSPF.concept_id, 3)
    assert [a.strategy for a in made.atoms] == ["llm"] * 3
    assert all(
        a.fidelity_type == "generated" and not problems(a, OSPF, (EIGRP, RIP)) for a in made.atoms
    )
    assert made.usage[0].provider == "scripted" and made.usage[0].prompt_version == "jit-atoms@v2"

    wrong = {
        "atoms": [
            {
                "body": {
                    "type": "flashcard",
                    "front": "OSPF's administrative distance?",
                    "back": "90",
                },
                "source_fact_basis": ["made up"],
            }
        ]
    }
    provider = ScriptedProvider().then(wrong, wrong)
    jit = JITGenerationService(MemoryContentStore.of(CONCEPTS), Gateway([provider]))
    made = await jit.generate_for_missing_coverage(OSPF.concept_id, 3)
    assert "not a fact" in provider.calls[1].turns[-1].text  # the re-ask names the problem
    assert made.usage[0].strategy == "rules_fallback"
    assert made.usage[0].fallback_reason.startswith("constraint_violation")  # type: ignore[union-attr]
    assert [a.strategy for a in made.atoms] == ["rules_fallback"] * 3


async def test_one_content_type_failing_does_not_stop_the_others() -> None:
    def explode(call: object) -> str:
        raise RuntimeError("atomizer crashed")

    practice = drafts_for(
        (AtomType.FLASHCARD, AtomType.CLOZE, AtomType.MCQ), 2, ContentType.PRACTICE
    )
    provider = ScriptedProvider().then(explode, practice)
    jit = JITGenerationService(MemoryContentStore.of(CONCEPTS), Gateway([provider]))
    result = await jit.generate_for_gap(
        JitRequest(
            OSPF.concept_id,
            GenerationTrigger.FAILED_QUESTION,
            [ContentType.EXPLANATION, ContentType.PRACTICE],
            4,
            "ada",
            FailMode.ENCODING_ERROR,
        )
    )
    assert len(result.atoms) == 2 and {a.content_type for a in result.atoms} == {
        ContentType.PRACTICE
    }
    assert result.errors and result.errors[0].startswith(
        "explanation: RuntimeError: atomizer crashed"
    )
