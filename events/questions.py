"""How a fact is asked: a question with ``{concept}`` where the concept's name goes.

A fact may carry its own question ("Which attack does {concept} mitigate?");
without one it is asked "What is the <attribute> of {concept}?". That default
reads right for a plain noun ("the administrative distance of OSPF") and wrong
for a relational attribute: "the attack mitigated of Dynamic ARP Inspection",
"the role of a DHCPv6 server of SLAAC", "the effect on the port of Root Guard".
``phrasing_problems`` names those faults; content packs refuse a fact whose
question has one, and every atom is checked for them (``services.remediation.verify``).
The check is a heuristic over the phrase that "of {concept}" follows, aimed at
exactly those faults, not a grammar of English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "CONCEPT",
    "default_question",
    "fallback_question",
    "phrasing_problems",
    "question_template",
    "sentence_problems",
    "template_problems",
]

CONCEPT = "{concept}"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PREPOSITIONS = _words(
    "about above across after against along among as at before behind below "
    "beneath beside between beyond by during for from in inside into near of off "
    "on onto out outside over per since than through to toward towards under "
    "until upon via with within without"
)
# Prepositions that also serve as adjectives ("the inside global address").
_ADJECTIVAL = _words("inside near off outside")
_CLAUSE_WORDS = _words("how what when where which who whom whose why whether if")
# Words that open a clause inside a noun phrase ("the command that disables DTP").
_RELATIVE = _words("that which who whom whose where when it they them")
# Irregular past participles; regular ones end in -ed (see _participle).
_PARTICIPLES = _words(
    "begun bent born bought brought built caught chosen done drawn driven found "
    "flown forgotten frozen given grown held hidden kept known left lost made "
    "meant paid run said seen sent shown sold spent spoken stolen taken taught "
    "thought thrown told torn won worn written"
)
# Words ending in -ed that are not participles.
_NOT_PARTICIPLES = _words("bed deed embed feed hundred need red reed seed shed speed weed")
# Words ending in -s that are singular.
_SINGULAR_S = _words(
    "alias analysis basis bias bus chaos gas its lens news plus series species status this versus"
)
# Where "of <concept>" follows a phrase.
_OF_CONCEPT = re.compile(r"\s+of\s+\{concept\}")
_CLAUSE_END = re.compile(r"[,;:?!]|\.\s")
_THE_CLAUSE = re.compile(r"\bthe\s+(how|what|when|where|which|who|why|whether)\b", re.I)
_REPEATED = re.compile(r"\b(the|a|an|of|is|are|to|in|on|for)\s+\1\b", re.IGNORECASE)


def _participle(word: str) -> bool:
    w = word.lower()
    if w in _PARTICIPLES:
        return True
    return w.isalpha() and w.endswith("ed") and len(w) >= 4 and w not in _NOT_PARTICIPLES


def _plural(word: str) -> bool:
    """A lowercase word that reads as a plural noun (acronyms like IOS are not)."""
    return (
        word.isalpha()
        and word.islower()
        and word.endswith("s")
        and not word.endswith(("ss", "us", "is"))
        and word not in _SINGULAR_S
    )


def _phrase_problems(phrase: str, verb: str | None) -> list[str]:
    words = phrase.split()
    said = f"'the {phrase} of <concept>'"
    out: list[str] = []
    if words[0].lower() in _CLAUSE_WORDS:
        out.append(f"{said}: '{phrase}' is a clause, not a noun")
    if "of" in (w.lower() for w in words):
        out.append(f"{said}: a second 'of' (X of Y of Z)")
    if words[-1].lower() in _PREPOSITIONS:
        out.append(f"{said}: 'of <concept>' after the preposition '{words[-1]}'")
    if words[0].lower() in _PREPOSITIONS - _ADJECTIVAL:
        out.append(f"{said}: the preposition '{words[0]}' right after 'the'")
    inner = [w for w in words[1:-1] if w.lower() in _PREPOSITIONS - {"of"}]
    if inner:
        out.append(
            f"{said}: 'of <concept>' would belong to what follows '{inner[0]}', "
            f"not to '{' '.join(words[: words.index(inner[0])])}'"
        )
    relative = [w for w in words[1:] if w.lower() in _RELATIVE]
    if relative:
        at = words.index(relative[0])
        out.append(
            f"{said}: 'of <concept>' would end the clause '{' '.join(words[at:])}', "
            f"not belong to '{' '.join(words[:at])}'"
        )
    if _participle(words[-1]):
        out.append(f"{said}: 'of <concept>' after the past participle '{words[-1]}'")
    if verb is not None and verb.strip().lower() in {"is", "was"} and _plural(words[-1]):
        out.append(f"'{verb.strip()} the {phrase}': '{verb.strip()}' with the plural '{words[-1]}'")
    return out


def _phrase_before(text: str) -> tuple[str, str | None] | None:
    """The noun phrase "of <concept>" is attached to at the end of ``text``, and the
    verb before it: from the last "the" of the clause, or an earlier one when that
    "the" follows a preposition ("the effect on the port" is one phrase)."""
    clause = _CLAUSE_END.split(text)[-1].split()
    thes = [i for i, w in enumerate(clause) if w.lower() == "the"]
    if not thes:
        return None
    k = len(thes) - 1
    while k > 0 and clause[thes[k] - 1].lower() in _PREPOSITIONS:
        k -= 1
    start = thes[k]
    if start == len(clause) - 1:
        return None
    before = clause[start - 1] if start > 0 else None
    verb = before if before is not None and before.lower() in {"is", "are", "was", "were"} else None
    return " ".join(clause[start + 1 :]), verb


def phrasing_problems(text: str) -> list[str]:
    """What does not read as English in ``text`` (names already replaced by ``{concept}``)."""
    out: list[str] = []
    for m in _OF_CONCEPT.finditer(text):
        found = _phrase_before(text[: m.start()])
        if found is not None:
            out += _phrase_problems(*found)
    out += [f"'{m.group(0)} ...': a clause after 'the'" for m in _THE_CLAUSE.finditer(text)]
    out += [f"'{m.group(0)}': a word repeated" for m in _REPEATED.finditer(text)]
    return out


def template_problems(question: str) -> list[str]:
    """What is wrong with a fact's question: its form, then its phrasing."""
    out: list[str] = []
    if question.count(CONCEPT) != 1:
        out.append(f"must name the concept once, as {CONCEPT}")
    rest = question.replace(CONCEPT, "")
    if "{" in rest or "}" in rest:
        out.append(f"only {CONCEPT} may stand in braces")
    if not question.rstrip().endswith("?"):
        out.append("must end with a question mark")
    if not (question[:1].isupper() or question.startswith(CONCEPT)):
        out.append(f"must start with a capital letter or {CONCEPT}")
    return out + phrasing_problems(question)


def _copula(attribute: str) -> str:
    return "are" if _plural(attribute.split()[-1]) else "is"


def default_question(attribute: str) -> str:
    """The question a fact gets without its own: 'What is the <attribute> of {concept}?'."""
    return f"What {_copula(attribute)} the {attribute} of {CONCEPT}?"


def fallback_question(attribute: str) -> str:
    """A question that reads right whatever the attribute, for facts imported before
    packs had to give one where the default does not read right."""
    if attribute.split()[0].lower() in _CLAUSE_WORDS:
        return f"About {CONCEPT}: {attribute}?"
    return f"For {CONCEPT}, what {_copula(attribute)} the {attribute}?"


def question_template(attribute: str, question: str | None) -> str:
    """The question to ask for a fact: its own, else the default if it reads right,
    else the fallback."""
    if question is not None:
        return question
    default = default_question(attribute)
    return fallback_question(attribute) if phrasing_problems(default) else default


def sentence_problems(sentence: str, names: Iterable[str]) -> list[str]:
    """``phrasing_problems`` of an atom's text, where the concepts' ``names`` stand for
    ``{concept}``."""
    for name in sorted(set(names), key=len, reverse=True):
        sentence = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", CONCEPT, sentence)
    return phrasing_problems(sentence)
