"""A few concepts built in code, for tests that must not depend on the shipped pack."""

from __future__ import annotations

import uuid

from events.content import Calculation, ConceptImported, Fact, Procedure

CLUSTER = uuid.UUID("00000000-0000-4000-8000-00000000c001")


def _concept(slug: str, name: str, **fields: object) -> ConceptImported:
    return ConceptImported(
        concept_id=uuid.uuid5(CLUSTER, slug),
        slug=slug,
        pack="test",
        cluster_id=CLUSTER,
        cluster_slug="routing",
        cluster_name="Routing",
        name=name,
        **fields,  # type: ignore[arg-type]
    )


def _id(slug: str) -> uuid.UUID:
    return uuid.uuid5(CLUSTER, slug)


def fact(attribute: str, value: str, statement: str) -> Fact:
    return Fact(attribute=attribute, value=value, statement=statement)


OSPF = _concept(
    "ospf",
    "OSPF",
    definition="A link-state interior gateway protocol that floods LSAs within an area.",
    siblings=[_id("eigrp"), _id("rip")],
    facts=[
        fact("administrative distance", "110", "OSPF has an administrative distance of 110."),
        fact("algorithm", "Dijkstra SPF", "OSPF computes best paths with Dijkstra SPF."),
        fact("metric", "cost", "OSPF chooses paths by the lowest cost."),
    ],
    procedures=[
        Procedure(
            name="Enable OSPF on 10.1.1.0/24 in area 0",
            kind="commands",
            steps=["router ospf 1", "router-id 1.1.1.1", "network 10.1.1.0 0.0.0.255 area 0"],
        ),
        Procedure(
            name="Form an OSPF adjacency",
            kind="steps",
            steps=["Down", "Init", "2-Way", "ExStart", "Exchange", "Loading", "Full"],
        ),
    ],
)
EIGRP = _concept(
    "eigrp",
    "EIGRP",
    definition="An advanced distance-vector routing protocol using DUAL.",
    siblings=[_id("ospf"), _id("rip")],
    facts=[
        fact(
            "administrative distance", "90", "Internal EIGRP has an administrative distance of 90."
        ),
        fact("algorithm", "DUAL", "EIGRP computes loop-free paths with DUAL."),
        fact("metric", "bandwidth and delay", "EIGRP's metric combines bandwidth and delay."),
    ],
)
RIP = _concept(
    "rip",
    "RIPv2",
    definition="A distance-vector routing protocol that counts hops.",
    siblings=[_id("ospf"), _id("eigrp")],
    facts=[
        fact("administrative distance", "120", "RIP has an administrative distance of 120."),
        fact("algorithm", "Bellman-Ford", "RIP computes routes with Bellman-Ford."),
        fact("metric", "hop count", "RIP chooses paths by the lowest hop count."),
    ],
)
SUBNET_MASK = _concept(
    "subnet-mask",
    "Subnet mask",
    definition="A 32-bit value that marks which bits of an IPv4 address are the network part.",
    facts=[fact("host bits of a /24", "8", "A /24 mask leaves 8 host bits.")],
    calculations=[Calculation.USABLE_HOSTS, Calculation.SUBNET_MASK],
)
EMPTY = _concept("empty", "A concept with no facts yet")

CONCEPTS = (OSPF, EIGRP, RIP, SUBNET_MASK, EMPTY)
