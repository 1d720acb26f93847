"""Content packs: the shipped pack loads; a bad pack names the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.questions import template_problems
from services.content.pack import PackError, concept_uuid, load_pack
from tests.support.jit import PACK

pytestmark = pytest.mark.unit

META = "pack: mini\nversion: 1\ntitle: Mini pack\n"
ROUTING = """\
cluster:
  slug: routing
  name: Routing
concepts:
  - slug: ospf
    name: OSPF
    siblings: [rip]
    facts:
      - attribute: administrative distance
        value: "110"
        statement: OSPF has an administrative distance of 110.
      - attribute: algorithm
        value: Dijkstra SPF
        statement: OSPF uses the SPF algorithm.
    atoms:
      - type: flashcard
        front: What is the AD of OSPF?
        back: "110"
  - slug: rip
    name: RIP
    siblings: [ospf, igrp]
    facts:
      - attribute: administrative distance
        value: "120"
        statement: RIP has an administrative distance of 120.
"""


def write(tmp: Path, files: dict[str, str]) -> Path:
    root = tmp / "mini"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def problems_of(tmp: Path, files: dict[str, str]) -> list[str]:
    with pytest.raises(PackError) as caught:
        load_pack(write(tmp, files))
    assert "nothing imported" in str(caught.value)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_pack_loads_with_stable_ids() -> None:
    pack = load_pack(PACK)
    assert pack.name == "ccna" and len(pack.concepts) >= 40
    ospf = next(c for c in pack.concepts if c.slug == "ospf")
    assert ospf.concept_id == concept_uuid("ccna", "ospf")
    assert all(
        s in {c.concept_id for c in pack.concepts} for c in pack.concepts for s in c.siblings
    )
    events = pack.events()
    assert len(events) == len(pack.concepts) + len(pack.atoms)
    assert [e.event_id for e in load_pack(PACK).events()] == [e.event_id for e in events]


def test_a_fact_whose_statement_lacks_its_value_is_named(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"pack.yaml": META, "routing.yaml": ROUTING})
    assert found == [
        "mini/routing.yaml:12: concepts[0].facts[1]: statement must contain the value "
        "'Dijkstra SPF' verbatim",
    ]


def test_unknown_siblings_and_duplicate_slugs_are_named(tmp_path: Path) -> None:
    fixed = ROUTING.replace("uses the SPF algorithm", "uses the Dijkstra SPF algorithm")
    other = "cluster:\n  slug: more\n  name: More\nconcepts:\n  - slug: rip\n    name: RIP again\n"
    found = problems_of(tmp_path, {"pack.yaml": META, "routing.yaml": fixed, "more.yaml": other})
    assert (
        "mini/routing.yaml:19: concepts[1].slug: 'rip' is already defined in mini/more.yaml"
        in found
    )
    assert (
        "mini/routing.yaml:21: concepts[1].siblings[1]: 'igrp' is not a concept of this pack"
        in found
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "cluster:\n  slug: routing\n  name: R\nconcepts:\n  - slug: a\n    name: [unclosed\n",
            "mini/routing.yaml:7: not valid YAML",
        ),
        (
            "cluster:\n  slug: routing\n  name: R\nconcepts:\n"
            "  - slug: a\n    name: A\n    colour: red\n",
            "mini/routing.yaml:7: concepts[0].colour: Extra inputs are not permitted",
        ),
        (
            "cluster:\n  slug: routing\n  name: R\nconcepts:\n  - slug: a\n    name: A\n"
            "    atoms:\n      - type: essay\n        text: hi\n",
            "mini/routing.yaml:8: concepts[0].atoms[0]: Input tag 'essay'",
        ),
        (
            "cluster:\n  slug: routing\n  name: R\nconcepts:\n  - slug: Bad Slug\n    name: A\n",
            "mini/routing.yaml:5: concepts[0].slug: String should match pattern",
        ),
        (
            "cluster:\n  slug: other\n  name: R\nconcepts:\n  - slug: a\n    name: A\n",
            "mini/routing.yaml:2: cluster.slug: must match the file name 'routing'",
        ),
    ],
)
def test_each_kind_of_mistake_names_file_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    found = problems_of(tmp_path, {"pack.yaml": META, "routing.yaml": text})
    assert any(p.startswith(expected) for p in found), found


def test_a_directory_without_pack_yaml_is_refused(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"routing.yaml": ROUTING})
    assert found == [f"{tmp_path / 'mini'}: no pack.yaml in this directory"]


ASKED = """\
cluster:
  slug: routing
  name: Routing
concepts:
  - slug: dai
    name: Dynamic ARP Inspection
    facts:
      - attribute: attack mitigated
        question: "Which attack does {concept} mitigate?"
        value: ARP spoofing
        statement: Dynamic ARP Inspection mitigates ARP spoofing.
      - attribute: enable command
        value: ip arp inspection vlan
        statement: Dynamic ARP Inspection is enabled with ip arp inspection vlan.
"""


def test_a_fact_may_give_its_question_and_the_old_format_stays_valid(tmp_path: Path) -> None:
    pack = load_pack(write(tmp_path, {"pack.yaml": META, "routing.yaml": ASKED}))
    (dai,) = pack.concepts
    attack, enable = dai.facts
    assert attack.question == "Which attack does {concept} mitigate?"
    assert attack.asked() == attack.question
    assert enable.question is None  # a plain noun: the default reads right
    assert enable.asked() == "What is the enable command of {concept}?"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "What is the attack mitigated of {concept}?",
            "mini/routing.yaml:9: concepts[0].facts[0].question: 'the attack mitigated of "
            "<concept>': 'of <concept>' after the past participle 'mitigated'",
        ),
        (
            "What is the effect on the port of {concept}?",
            "mini/routing.yaml:9: concepts[0].facts[0].question: 'the effect on the port of "
            "<concept>': 'of <concept>' would belong to what follows 'on', not to 'effect'",
        ),
        (
            "Which attack does it mitigate?",
            "mini/routing.yaml:9: concepts[0].facts[0].question: must name the concept once, "
            "as {concept}",
        ),
        (
            "Which attack does {concept} mitigate",
            "mini/routing.yaml:9: concepts[0].facts[0].question: must end with a question mark",
        ),
    ],
)
def test_a_question_that_does_not_read_is_named(
    tmp_path: Path, question: str, expected: str
) -> None:
    text = ASKED.replace('"Which attack does {concept} mitigate?"', f'"{question}"')
    found = problems_of(tmp_path, {"pack.yaml": META, "routing.yaml": text})
    assert found == [expected]


@pytest.mark.parametrize(
    ("attribute", "fault"),
    [
        ("attack mitigated", "after the past participle 'mitigated'"),
        ("role of a DHCPv6 server", "a second 'of' (X of Y of Z)"),
        ("effect on the port", "would belong to what follows 'on'"),
        ("matches on", "after the preposition 'on'"),
        ("how the phone learns the VLAN ID", "a clause after 'the'"),
    ],
)
def test_a_fact_whose_default_question_does_not_read_must_give_one(
    tmp_path: Path, attribute: str, fault: str
) -> None:
    text = ASKED.replace('        question: "Which attack does {concept} mitigate?"\n', "")
    text = text.replace("attribute: attack mitigated", f"attribute: {attribute}")
    found = problems_of(tmp_path, {"pack.yaml": META, "routing.yaml": text})
    (problem,) = found
    assert problem.startswith("mini/routing.yaml:8: concepts[0].facts[0].question: needed: ")
    assert "Dynamic ARP Inspection" in problem and fault in problem


def test_every_fact_of_the_shipped_pack_is_asked_in_english() -> None:
    for concept in load_pack(PACK).concepts:
        for fact in concept.facts:
            assert template_problems(fact.asked()) == [], (concept.slug, fact.attribute)
