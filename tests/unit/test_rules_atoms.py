"""The rules strategy over the shipped CCNA pack: every atom answerable from its source
facts, with the right answer; each atom type built the way the issue says."""

from __future__ import annotations

import ipaddress
from functools import cache

import pytest

from events.content import (
    Atom,
    AtomType,
    ClozeBody,
    CompareBody,
    ConceptImported,
    ContentType,
    Fact,
    McqBody,
    NumericBody,
    OrderingBody,
    TrueFalseBody,
)
from events.questions import sentence_problems
from services.remediation.rules import AtomTask, ask, make_atoms
from services.remediation.verify import problems
from tests.support.content import OSPF
from tests.support.jit import ccna

pytestmark = pytest.mark.unit


@cache
def everything() -> list[tuple[ConceptImported, tuple[ConceptImported, ...], list[Atom]]]:
    pack = ccna()
    by_id = {c.concept_id: c for c in pack.concepts}
    out = []
    for c in pack.concepts:
        siblings = tuple(by_id[s] for s in c.siblings)
        atoms = []
        for ct in ContentType:
            atoms += make_atoms(AtomTask(c, siblings, ct, tuple(AtomType), 200))
        out.append((c, siblings, atoms))
    return out


def test_the_pack_is_big_enough() -> None:
    pack = ccna()
    assert len(pack.concepts) >= 40 and len({c.cluster_id for c in pack.concepts}) >= 5
    made = {a.atom_type for _, _, atoms in everything() for a in atoms}
    assert made == set(AtomType)  # every atom type can be made from the pack


def test_every_generated_atom_is_answerable_and_right() -> None:
    checked = 0
    for concept, siblings, atoms in everything():
        for atom in atoms:
            assert problems(atom, concept, siblings) == [], (concept.slug, atom.variant)
            checked += 1
        assert len({a.atom_id for a in atoms}) == len({a.variant for a in atoms})
    assert checked > 1000


def test_each_type_is_made_from_the_right_source() -> None:
    for concept, siblings, atoms in everything():
        values = {f.attribute: f.value for f in concept.facts}
        sibling_values = {(f.attribute, f.value) for s in siblings for f in s.facts}
        steps = [p.steps for p in concept.procedures]
        for atom in atoms:
            b = atom.body
            if isinstance(b, ClozeBody):  # a real key term is blanked
                assert b.answer in values.values() and b.answer not in b.text
            elif isinstance(b, McqBody):  # distractors are siblings' values
                fact = next(f for f in concept.facts if ask(f, concept) == b.stem)
                attribute = fact.attribute
                assert b.options[b.answer_index] == values[attribute]
                for i, option in enumerate(b.options):
                    if i != b.answer_index:
                        assert (attribute, option) in sibling_values
            elif isinstance(b, TrueFalseBody) and not b.answer:  # a sibling's value swapped in
                assert b.correction is not None
                assert any(v in b.statement and (a, v) in sibling_values for a, v in sibling_values)
            elif isinstance(b, CompareBody):
                assert b.items[0].value == values[b.attribute]
                assert (b.attribute, b.items[1].value) in sibling_values
            elif isinstance(b, OrderingBody):
                assert b.answer in steps and b.shuffled != b.answer
            elif isinstance(b, NumericBody):
                assert b.answer == independent(b)


def independent(b: NumericBody) -> str:
    """The answer worked out again, differently from the calculators."""
    kind = b.calculation.value
    if kind == "usable_hosts":
        return str((1 << (32 - int(b.given[1:]))) - 2)
    if kind == "subnet_mask":
        bits = (0xFFFFFFFF << (32 - int(b.given[1:]))) & 0xFFFFFFFF
        return ".".join(str(bits >> s & 255) for s in (24, 16, 8, 0))
    if kind == "wildcard_mask":
        bits = (1 << (32 - int(b.given[1:]))) - 1
        return ".".join(str(bits >> s & 255) for s in (24, 16, 8, 0))
    if kind == "prefix_length":
        return "/" + str(sum(bin(int(o)).count("1") for o in b.given.split(".")))
    if kind == "network_address":
        return str(ipaddress.ip_network(b.given, strict=False).network_address)
    if kind == "broadcast_address":
        return str(ipaddress.ip_network(b.given, strict=False).broadcast_address)
    if kind == "subnets_from_borrowed_bits":
        return str(2 ** int(b.given))
    mac = bytes.fromhex(b.given.replace(":", ""))
    eui = bytes([mac[0] ^ 2, *mac[1:3], 0xFF, 0xFE, *mac[3:]])
    return str(ipaddress.IPv6Address(bytes(8) + eui)).removeprefix("::")


def test_known_answers() -> None:
    assert (
        independent(NumericBody(question="q", answer="x", calculation="usable_hosts", given="/26"))
        == "62"
    )  # type: ignore[arg-type]
    eui = NumericBody(
        question="q", answer="x", calculation="eui64_interface_id", given="00:1a:2b:3c:4d:5e"
    )  # type: ignore[arg-type]
    assert independent(eui) == "21a:2bff:fe3c:4d5e"


def test_repeated_requests_make_different_atoms() -> None:
    concept, siblings, _ = next(e for e in everything() if e[0].slug == "ospf")
    first = make_atoms(
        AtomTask(concept, siblings, ContentType.PRACTICE, (AtomType.MCQ, AtomType.FLASHCARD), 3)
    )
    again = make_atoms(
        AtomTask(
            concept,
            siblings,
            ContentType.PRACTICE,
            (AtomType.MCQ, AtomType.FLASHCARD),
            3,
            avoid=frozenset(a.variant for a in first),
        )
    )
    assert first and again and {a.variant for a in first}.isdisjoint(a.variant for a in again)


def test_every_question_reads_as_english() -> None:
    """Issue 10, finding 7: no "What is the attack mitigated of Dynamic ARP Inspection?",
    "What is the role of a DHCPv6 server of SLAAC?" or "What is the effect on the port
    of Root Guard?"; the check content packs apply to their questions, over every atom."""
    checked, bad = 0, []
    for concept, siblings, atoms in everything():
        names = [concept.name, *(s.name for s in siblings)]
        for atom in atoms:
            found = sentence_problems(atom.front, names)
            if found:
                bad.append((concept.slug, atom.variant, atom.front, found))
            checked += 1
    assert bad == []
    assert checked > 1000


def test_the_issues_examples_are_asked_naturally() -> None:
    by_slug = {c.slug: (c, s) for c, s, _ in everything()}
    fronts = {
        (slug, a.variant): a.front
        for slug in ("dynamic-arp-inspection", "slaac", "root-guard")
        for a in next(atoms for c, _, atoms in everything() if c.slug == slug)
    }
    assert fronts[("dynamic-arp-inspection", "flashcard:attack mitigated")] == (
        "Which attack does Dynamic ARP Inspection mitigate?"
    )
    assert fronts[("slaac", "flashcard:role of a DHCPv6 server")] == (
        "What role does a DHCPv6 server play in SLAAC?"
    )
    assert fronts[("root-guard", "flashcard:effect on the port")] == (
        "What does Root Guard do to the port?"
    )
    # a plain noun keeps the default, and a comparison asks the same question twice
    ospf, siblings = by_slug["ospf"]
    ad = next(f for f in ospf.facts if f.attribute == "administrative distance")
    assert ask(ad, ospf) == "What is the administrative distance of OSPF?"
    (compare,) = make_atoms(AtomTask(ospf, siblings, ContentType.PRACTICE, (AtomType.COMPARE,), 1))
    assert isinstance(compare.body, CompareBody)
    assert compare.body.prompt.endswith(f"? And {compare.body.items[1].concept}?")


@pytest.mark.parametrize(
    ("sentence", "fault"),
    [
        ("What is the attack mitigated of Dynamic ARP Inspection?", "past participle"),
        ("What is the role of a DHCPv6 server of SLAAC?", "second 'of'"),
        ("What is the effect on the port of Root Guard?", "follows 'on'"),
        ("What is the backward compatible with of OSPF?", "preposition 'with'"),
        ("What is the how a floating static route is made of OSPF?", "clause"),
        ("What is the command that disables DTP of OSPF?", "end the clause"),
        ("What is the port states of OSPF?", "plural"),
        ("What is the between routing sources of OSPF?", "right after 'the'"),
        ("Which is the the metric of OSPF?", "repeated"),
    ],
)
def test_the_check_names_each_fault(sentence: str, fault: str) -> None:
    found = sentence_problems(sentence, ["Dynamic ARP Inspection", "SLAAC", "Root Guard", "OSPF"])
    assert any(fault in p for p in found), found


@pytest.mark.parametrize(
    "sentence",
    [
        "What is the administrative distance of OSPF?",
        "What are the port roles of OSPF?",
        "Which attack does OSPF mitigate?",
        "In OSPF, what is the network address of 192.168.1.77/26?",
        "What is the inside global address of OSPF?",
        "How is a floating OSPF made?",
        "The administrative distance of OSPF is 110.",
    ],
)
def test_the_check_passes_natural_questions(sentence: str) -> None:
    assert sentence_problems(sentence, ["OSPF"]) == []


def test_facts_imported_without_a_question_are_still_asked_readably() -> None:
    """A concept-imported event from before packs had to give questions keeps working."""
    fact = Fact(
        attribute="attack mitigated",
        value="route spoofing",
        statement="OSPF authentication prevents route spoofing.",
    )
    concept = OSPF.model_copy(update={"facts": [*OSPF.facts, fact]})
    atoms = make_atoms(AtomTask(concept, (), ContentType.PRACTICE, (AtomType.FLASHCARD,), 10))
    front = next(a.front for a in atoms if a.variant == "flashcard:attack mitigated")
    assert front == "For OSPF, what is the attack mitigated?"
    assert all(problems(a, concept) == [] for a in atoms)
