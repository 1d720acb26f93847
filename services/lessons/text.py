"""Text checks shared by the phases, the scorer and the validators.

"Appears in the explanation" compares normalised text (case, punctuation
spacing and markdown emphasis ignored), so ``**Ring final circuit**`` teaches
"ring final circuit". Technical terms a question may only use once taught are
acronyms (``RCD``, ``OSPF``) and the names of the lesson's pack concepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "acronyms",
    "appears_in",
    "first_sentence",
    "lower_first",
    "normalise",
    "sentence",
    "short_variants",
    "word_count",
]

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'./+-]*")
_MARKDOWN = re.compile(r"[*_`#>]+")
_SPACES = re.compile(r"\s+")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,}(?:[a-z]?\d*)?\b")
# Capitalised words that are not taught terms (roman numerals, units, ordinals in text).
_NOT_TERMS = frozenset({"I", "II", "III", "IV", "A", "OK", "TRUE", "FALSE", "AND", "OR", "NOT"})


@lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """Lowercase, markdown emphasis dropped, whitespace collapsed."""
    plain = _MARKDOWN.sub("", text)
    return _SPACES.sub(" ", plain).strip().casefold()


def appears_in(needle: str, haystack: str) -> bool:
    """Whether ``needle`` occurs in ``haystack`` as a phrase (word boundaries respected)."""
    n = normalise(needle).rstrip(".")
    if not n:
        return False
    plain = normalise(haystack)
    return n in plain and _phrase(n).search(plain) is not None


@lru_cache(maxsize=8192)
def _phrase(needle: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(needle) + r"(?![a-z0-9])")


def word_count(text: str) -> int:
    return len(_WORD.findall(_MARKDOWN.sub(" ", text)))


def acronyms(text: str) -> set[str]:
    """Upper-case technical tokens (``RCD``, ``IPv6`` is not one, ``CAT6`` is)."""
    found = {m.group(0) for m in _ACRONYM.finditer(_MARKDOWN.sub(" ", text))}
    return {a for a in found if a not in _NOT_TERMS and not a.isdigit()}


def first_sentence(text: str) -> str:
    """The first sentence, at most 300 characters, ending with a full stop."""
    head = re.split(r"(?<=[.;])\s", text.strip(), maxsplit=1)[0].rstrip(";").strip()
    head = head if len(head) <= 300 else head[:297].rsplit(" ", 1)[0]
    return sentence(head)


def sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def lower_first(text: str) -> str:
    """``Open Shortest Path First, a ...`` stays; ``A link-state ...`` -> ``a link-state ...``."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _formula_variants(answer: str) -> list[str]:
    ascii_ = answer.replace("\u00d7", "x").replace("\u00f7", "/").replace("\u221a", "sqrt")
    return [ascii_, ascii_.replace(" ", ""), answer.replace(" ", "")]


def short_variants(answer: str, extra: Iterable[str] = ()) -> list[str]:
    """Accepted alternatives for an answer, the answer first, at most eight.

    ``"224.0.0.5 and 224.0.0.6"`` -> also ``"224.0.0.5, 224.0.0.6"`` and the reverse
    order; a leading article dropped; a parenthesis dropped or alone (``"the ohm (Ω)"``
    -> ``"the ohm"``, ``"Ω"``); a formula also typed with x and / (``"V = I x R"``).
    Nothing looser: a variant must mean exactly the answer.
    """
    out = [answer]
    formula = re.search("[=\u00d7\u00f7\u221a]", answer) is not None
    parts = [p.strip() for p in re.split(r",\s*|\s+and\s+|;\s*", answer) if p.strip()]
    if len(parts) > 1 and not formula and all(word_count(p) <= 3 for p in parts):
        out.append(", ".join(parts))
        out.append(" and ".join(reversed(parts)))
    stripped = re.sub(r"^(the|a|an)\s+", "", answer, flags=re.IGNORECASE)
    if stripped != answer:
        out.append(stripped)
    inside = re.search(r"\(([^)]{1,20})\)", answer)
    if formula:
        out += _formula_variants(answer)
    elif inside:
        out.append(re.sub(r"\s*\([^)]*\)", "", stripped).strip())
        out.append(inside.group(1))
    out.extend(extra)
    seen: dict[str, str] = {}
    for item in out:
        key_ = normalise(item)
        if key_ and key_ not in seen:
            seen[key_] = item.strip()
    return list(seen.values())[:8]
