"""Safety content: when a lesson needs it, and the note it carries.

A lesson about electrical installation work (at least two distinct electrical
installation terms in its text) must carry an explicit safety callout; the
scorer caps a lesson without one (the seed's safety auto-cap). The note states
safe isolation as the Electricity at Work Regulations and HSE GS38 require it,
phrased as a rule rather than steps, so it fits any teaching constraint.
"""

from __future__ import annotations

import re

from services.lessons.text import normalise

__all__ = ["SAFETY_NOTE", "has_safety_note", "safety_relevant"]

SAFETY_NOTE = (
    "**Safety:** no work starts on a circuit until it has been safely isolated: switched "
    "off at its protective device or isolator, locked off with a warning label, and proved "
    "dead with an approved voltage indicator that is itself proved working on a known live "
    "source before and after use."
)

_ELECTRICAL = re.compile(
    r"consumer unit|distribution board|final circuit|ring final|radial circuit|\brcds?\b|"
    r"\brcbos?\b|\bmcbs?\b|\bfuses?\b|\bearthing\b|protective conductor|circuit protective|"
    r"live conductors?|live parts?|live working|live and neutral|\bneutral conductor|"
    r"\b230 ?v\b|\bvolts?\b|\bamperes?\b|\bisolat(e|ed|ion|ing|or)\b|\bmains\b|"
    r"socket[- ]outlets?|bs 7671|electric(al)? shock|prove[d]? dead|\bspurs?\b"
)
_CALLOUT = re.compile(r"\*\*(safety|warning)[^*]*\*\*|(^|\n)\s*(safety|warning)\s*:", re.I)


def safety_relevant(text: str) -> bool:
    hits = {m.group(0) for m in _ELECTRICAL.finditer(normalise(text))}
    return len(hits) >= 2


def has_safety_note(text: str) -> bool:
    return _CALLOUT.search(text) is not None
