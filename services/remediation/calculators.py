"""Exact answers for numeric atoms, computed with ``ipaddress`` (never guessed)."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass

from events.content import Calculation

__all__ = ["NumericItem", "compute", "numeric_items"]


@dataclass(frozen=True, slots=True)
class NumericItem:
    calculation: Calculation
    given: str
    question: str
    answer: str
    working: str


def _prefix(given: str) -> int:
    return int(given.removeprefix("/"))


def _usable_hosts(given: str) -> tuple[str, str]:
    n = _prefix(given)
    hosts = 2 ** (32 - n) - 2
    return str(hosts), f"2^(32-{n}) - 2 = {hosts} (network and broadcast excluded)"


def _subnet_mask(given: str) -> tuple[str, str]:
    mask = str(ipaddress.IPv4Network(f"0.0.0.0{given}").netmask)
    return mask, f"{_prefix(given)} one-bits from the left give {mask}"


def _prefix_length(given: str) -> tuple[str, str]:
    n = ipaddress.IPv4Network(f"0.0.0.0/{given}").prefixlen
    return f"/{n}", f"{given} has {n} one-bits"


def _wildcard(given: str) -> tuple[str, str]:
    net = ipaddress.IPv4Network(f"0.0.0.0{given}")
    return str(net.hostmask), f"255.255.255.255 - {net.netmask} = {net.hostmask}"


def _network(given: str) -> tuple[str, str]:
    iface = ipaddress.IPv4Interface(given)
    return str(iface.network.network_address), f"{iface.ip} AND {iface.netmask}"


def _broadcast(given: str) -> tuple[str, str]:
    iface = ipaddress.IPv4Interface(given)
    net = iface.network
    return str(net.broadcast_address), f"network {net.network_address} with all host bits set"


def _borrowed(given: str) -> tuple[str, str]:
    bits = int(given)
    return str(2**bits), f"2^{bits} = {2**bits} subnets"


def _eui64(given: str) -> tuple[str, str]:
    octets = [int(part, 16) for part in given.replace("-", ":").replace(".", ":").split(":")]
    if len(octets) != 6:
        raise ValueError(f"not a MAC address: {given!r}")
    octets[0] ^= 0x02  # flip the universal/local bit
    full = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    groups = [f"{full[i] << 8 | full[i + 1]:x}" for i in range(0, 8, 2)]
    return ":".join(groups), "insert FFFE in the middle and flip the 7th bit of the first byte"


_COMPUTE: dict[Calculation, Callable[[str], tuple[str, str]]] = {
    Calculation.USABLE_HOSTS: _usable_hosts,
    Calculation.SUBNET_MASK: _subnet_mask,
    Calculation.PREFIX_LENGTH: _prefix_length,
    Calculation.WILDCARD_MASK: _wildcard,
    Calculation.NETWORK_ADDRESS: _network,
    Calculation.BROADCAST_ADDRESS: _broadcast,
    Calculation.SUBNETS_FROM_BORROWED_BITS: _borrowed,
    Calculation.EUI64_INTERFACE_ID: _eui64,
}

_QUESTIONS: dict[Calculation, str] = {
    Calculation.USABLE_HOSTS: "How many usable host addresses does a {given} IPv4 subnet have?",
    Calculation.SUBNET_MASK: "What is the dotted-decimal subnet mask of a {given} prefix?",
    Calculation.PREFIX_LENGTH: "What prefix length does the subnet mask {given} correspond to?",
    Calculation.WILDCARD_MASK: "What wildcard mask matches a {given} subnet in an ACL or OSPF?",
    Calculation.NETWORK_ADDRESS: "What is the network address of host {given}?",
    Calculation.BROADCAST_ADDRESS: "What is the broadcast address of the subnet of host {given}?",
    Calculation.SUBNETS_FROM_BORROWED_BITS: (
        "How many subnets do you get by borrowing {given} host bits?"
    ),
    Calculation.EUI64_INTERFACE_ID: (
        "What is the modified EUI-64 interface ID for MAC address {given}?"
    ),
}


def compute(calculation: Calculation, given: str) -> str:
    return _COMPUTE[calculation](given)[0]


def _inputs(calculation: Calculation, rng: random.Random) -> list[str]:
    prefixes = [24, 26, 27, 28, 29, 30, 25, 23, 22, 20, 19, 21]
    if calculation in (
        Calculation.USABLE_HOSTS,
        Calculation.SUBNET_MASK,
        Calculation.WILDCARD_MASK,
    ):
        return [f"/{n}" for n in prefixes]
    if calculation is Calculation.PREFIX_LENGTH:
        return [str(ipaddress.IPv4Network(f"0.0.0.0/{n}").netmask) for n in prefixes]
    if calculation in (Calculation.NETWORK_ADDRESS, Calculation.BROADCAST_ADDRESS):
        out = []
        for n in prefixes:  # private (RFC 1918) hosts
            a = rng.choice([10, 172, 192])
            b = {10: rng.randrange(256), 172: rng.randrange(16, 32), 192: 168}[a]
            out.append(f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}/{n}")
        return out
    if calculation is Calculation.SUBNETS_FROM_BORROWED_BITS:
        return [str(b) for b in (2, 3, 4, 5, 6, 1, 7, 8)]
    macs = []
    for _ in range(8):
        macs.append(":".join(f"{rng.randrange(256):02x}" for _ in range(6)))
    return macs


def numeric_items(calculation: Calculation, seed: str) -> list[NumericItem]:
    """Exercises for ``calculation`` in a fixed order for a given seed (the concept)."""
    rng = random.Random(f"{seed}:{calculation.value}")
    items = []
    for given in _inputs(calculation, rng):
        answer, working = _COMPUTE[calculation](given)
        question = _QUESTIONS[calculation].format(given=given)
        items.append(NumericItem(calculation, given, question, answer, working))
    return items
