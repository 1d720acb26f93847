"""Content context: concepts from content packs, learning atoms, JIT generation.

Keyed by concept id, so one concept's atoms and generation requests stay in
order. The remediation plan that combines them belongs to the learning context.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from events.catalog import event
from events.common import GenerationUsage, Identifier, Model
from events.envelope import Payload
from events.learning import FailMode, PlannedAtom, RemediationPlanned
from events.questions import question_template, template_problems
from events.topics import Context

__all__ = [
    "CONTEXT",
    "MAX_PLAN_ATOMS",
    "Atom",
    "AtomBody",
    "AtomGenerationRequested",
    "AtomImported",
    "AtomType",
    "AtomsGenerated",
    "Calculation",
    "ClozeBody",
    "CompareBody",
    "CompareItem",
    "ConceptImported",
    "ContentType",
    "Fact",
    "FlashcardBody",
    "GenerationTrigger",
    "KnowledgeType",
    "McqBody",
    "NumericBody",
    "OrderingBody",
    "Procedure",
    "RemediationContext",
    "TrueFalseBody",
    "planned_atoms",
]

CONTEXT = Context.CONTENT

Text = Annotated[str, Field(min_length=1, max_length=1000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]


class AtomType(StrEnum):
    FLASHCARD = "flashcard"
    CLOZE = "cloze"
    MCQ = "mcq"
    TRUE_FALSE = "true_false"
    COMPARE = "compare"
    PARSONS = "parsons"
    NUMERIC = "numeric"
    SEQUENCE = "sequence"


class ContentType(StrEnum):
    PRACTICE = "practice"
    EXPLANATION = "explanation"
    WORKED_EXAMPLE = "worked_example"


class GenerationTrigger(StrEnum):
    FAILED_QUESTION = "failed_question"
    MISSING_COVERAGE = "missing_coverage"
    USER_REQUEST = "user_request"
    PROACTIVE = "proactive"


class KnowledgeType(StrEnum):
    FACTUAL = "factual"
    CONCEPTUAL = "conceptual"
    PROCEDURAL = "procedural"


class Calculation(StrEnum):
    """Numeric exercises computed exactly (addressing concepts)."""

    USABLE_HOSTS = "usable_hosts"
    SUBNET_MASK = "subnet_mask"
    PREFIX_LENGTH = "prefix_length"
    WILDCARD_MASK = "wildcard_mask"
    NETWORK_ADDRESS = "network_address"
    BROADCAST_ADDRESS = "broadcast_address"
    SUBNETS_FROM_BORROWED_BITS = "subnets_from_borrowed_bits"
    EUI64_INTERFACE_ID = "eui64_interface_id"


# concepts --------------------------------------------------------------------------
class Fact(Model):
    """One checkable fact: the concept's ``value`` for ``attribute``, said in ``statement``.

    Siblings sharing an attribute name give distractors and false statements.
    ``question`` asks for the value ("Which attack does {concept} mitigate?");
    without it a fact is asked "What is the <attribute> of {concept}?"
    (``events.questions``).
    """

    attribute: Short
    value: Annotated[str, Field(min_length=1, max_length=60)]
    statement: Annotated[str, Field(min_length=1, max_length=200)]
    question: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the question that asks for the value, with {concept} where the "
        "concept's name goes; default: What is the <attribute> of {concept}?",
    )

    @field_validator("question")
    @classmethod
    def _question_reads(cls, question: str | None) -> str | None:
        if question is not None and (found := template_problems(question)):
            raise ValueError("; ".join(found))
        return question

    def asked(self) -> str:
        """The question for this fact, ``{concept}`` still in it (see ``question_template``)."""
        return question_template(self.attribute, self.question)

    @model_validator(mode="after")
    def _value_in_statement(self) -> Self:
        if self.value not in self.statement:
            raise ValueError(f"statement must contain the value {self.value!r} verbatim")
        return self


class Procedure(Model):
    name: Short
    kind: Literal["steps", "commands"]
    steps: list[Short] = Field(min_length=3, max_length=12)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if len(set(self.steps)) != len(self.steps):
            raise ValueError("steps must be distinct")
        return self


@event("concept-imported", context=Context.CONTENT, key="concept_id")
class ConceptImported(Payload):
    """A concept of a content pack, with the facts every generated atom is made from."""

    concept_id: uuid.UUID
    slug: Slug
    pack: Slug
    cluster_id: uuid.UUID
    cluster_slug: Slug
    cluster_name: Short
    name: Short
    definition: str | None = Field(default=None, max_length=600)
    facts: list[Fact] = Field(default_factory=list, max_length=20)
    siblings: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    procedures: list[Procedure] = Field(default_factory=list, max_length=10)
    calculations: list[Calculation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_attributes(self) -> Self:
        names = [f.attribute for f in self.facts]
        if len(set(names)) != len(names):
            raise ValueError("facts must have distinct attributes")
        return self


# atoms -----------------------------------------------------------------------------
class FlashcardBody(Model):
    type: Literal["flashcard"] = "flashcard"
    front: Text
    back: Text


class ClozeBody(Model):
    type: Literal["cloze"] = "cloze"
    text: Text = Field(description="the sentence with ____ where the answer goes")
    answer: Short

    @model_validator(mode="after")
    def _one_blank(self) -> Self:
        if self.text.count("____") != 1:
            raise ValueError("text must contain exactly one blank (____)")
        return self


class McqBody(Model):
    type: Literal["mcq"] = "mcq"
    stem: Text
    options: list[Short] = Field(min_length=3, max_length=5)
    answer_index: int = Field(ge=0)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if self.answer_index >= len(self.options):
            raise ValueError("answer_index must point at an option")
        if len({o.casefold() for o in self.options}) != len(self.options):
            raise ValueError("options must be distinct")
        return self


class TrueFalseBody(Model):
    type: Literal["true_false"] = "true_false"
    statement: Text
    answer: bool
    correction: str | None = Field(default=None, max_length=300, description="the true fact")


class CompareItem(Model):
    concept: Short
    value: Short


class CompareBody(Model):
    type: Literal["compare"] = "compare"
    prompt: Text
    attribute: Short
    items: list[CompareItem] = Field(min_length=2, max_length=4)


class OrderingBody(Model):
    """Parsons (order configuration lines) and sequence (order process steps)."""

    type: Literal["parsons", "sequence"]
    prompt: Text
    shuffled: list[Short] = Field(min_length=3, max_length=12)
    answer: list[Short] = Field(min_length=3, max_length=12, description="the correct order")

    @model_validator(mode="after")
    def _same_items(self) -> Self:
        if sorted(self.shuffled) != sorted(self.answer):
            raise ValueError("shuffled and answer must hold the same items")
        return self


class NumericBody(Model):
    type: Literal["numeric"] = "numeric"
    question: Text
    answer: Short = Field(description="exact answer: a number or an address")
    calculation: Calculation
    given: str = Field(max_length=100, description="the input the answer is computed from")
    working: str | None = Field(default=None, max_length=500)


AtomBody = Annotated[
    FlashcardBody | ClozeBody | McqBody | TrueFalseBody | CompareBody | OrderingBody | NumericBody,
    Field(discriminator="type"),
]


class Atom(Model):
    """One learning atom (a small quiz item) and what it was made from."""

    atom_id: uuid.UUID
    concept_id: uuid.UUID
    content_type: ContentType
    knowledge_type: KnowledgeType
    body: AtomBody
    source_fact_basis: list[Annotated[str, Field(max_length=600)]] = Field(
        default_factory=list, max_length=12, description="the facts or steps it comes from"
    )
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=10)
    quality_score: float = Field(default=75.0, ge=0, le=100)
    fidelity_type: Literal["verbatim", "derived", "computed", "generated", "authored"]
    variant: str = Field(max_length=200, description="what makes it distinct from its siblings")
    strategy: str | None = Field(default=None, max_length=64, description="what generated it")

    @property
    def atom_type(self) -> AtomType:
        return AtomType(self.body.type)

    @property
    def front(self) -> str:
        b = self.body
        if isinstance(b, FlashcardBody):
            return b.front
        if isinstance(b, ClozeBody):
            return b.text
        if isinstance(b, McqBody):
            return b.stem + "\n" + "\n".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(b.options))
        if isinstance(b, TrueFalseBody):
            return f"True or false: {b.statement}"
        if isinstance(b, CompareBody):
            return b.prompt
        if isinstance(b, OrderingBody):
            return b.prompt + "\n" + "\n".join(f"- {s}" for s in b.shuffled)
        return b.question

    @property
    def back(self) -> str:
        b = self.body
        if isinstance(b, FlashcardBody):
            return b.back
        if isinstance(b, ClozeBody):
            return b.answer
        if isinstance(b, McqBody):
            return f"{chr(65 + b.answer_index)}. {b.options[b.answer_index]}"
        if isinstance(b, TrueFalseBody):
            return ("True" if b.answer else "False") + (f": {b.correction}" if b.correction else "")
        if isinstance(b, CompareBody):
            return "; ".join(f"{i.concept}: {i.value}" for i in b.items)
        if isinstance(b, OrderingBody):
            return "\n".join(f"{n}. {s}" for n, s in enumerate(b.answer, 1))
        return b.answer


@event("atom-imported", context=Context.CONTENT, key="concept_id")
class AtomImported(Payload):
    """An existing, hand-written atom from a content pack."""

    concept_id: uuid.UUID
    pack: Slug
    atom: Atom


MAX_PLAN_ATOMS = 10


def planned_atoms(atoms: list[Atom], source: Literal["existing", "jit"]) -> list[PlannedAtom]:
    """Atoms as a plan lists them."""
    return [
        PlannedAtom(
            atom_id=a.atom_id, atom_type=a.atom_type.value, source=source, front=a.front[:1000]
        )
        for a in atoms
    ]


class RemediationContext(Model):
    """Why a failed-question generation was asked for; copied onto its result so the
    router can finish the learner's plan without keeping state."""

    learner_id: Identifier
    session_id: Identifier
    question_id: Identifier
    answer_event_id: uuid.UUID
    diagnosis_event_id: uuid.UUID
    fail_mode: FailMode
    existing: list[PlannedAtom] = Field(default_factory=list, max_length=20)


@event("atom-generation-requested", context=Context.CONTENT, key="concept_id")
class AtomGenerationRequested(Payload):
    """Someone needs atoms for a concept: a failed question, a coverage gap, a learner's
    request, or a proactive look-ahead."""

    concept_id: uuid.UUID
    trigger: GenerationTrigger
    content_types: list[ContentType] = Field(
        default_factory=lambda: [ContentType.PRACTICE], min_length=1, max_length=3
    )
    atom_count: int = Field(default=3, ge=1, le=20)
    learner_id: Identifier | None = None
    fail_mode: FailMode | None = None
    strategy: Literal["rules", "llm", "auto"] | None = None
    remediation: RemediationContext | None = None

    @model_validator(mode="after")
    def _failed_question_has_context(self) -> Self:
        if (self.trigger is GenerationTrigger.FAILED_QUESTION) != (self.remediation is not None):
            raise ValueError("remediation context is given exactly for failed_question")
        return self


@event("atoms-generated", context=Context.CONTENT, key="concept_id")
class AtomsGenerated(Payload):
    """The JIT generator's answer to a request: the atoms, or why there are fewer."""

    request_event_id: uuid.UUID
    concept_id: uuid.UUID
    trigger: GenerationTrigger
    content_types: list[ContentType]
    atoms: list[Atom] = Field(default_factory=list, max_length=20)
    from_cache: bool = False
    generation_time_ms: int = Field(ge=0)
    errors: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=20)
    usage: list[GenerationUsage] = Field(default_factory=list, max_length=10)
    remediation: RemediationContext | None = None

    def completed_plan(self) -> RemediationPlanned | None:
        """The learner's plan a failed-question generation completes: the existing
        atoms, then the new ones (None for other triggers).

        Pure: the remediation agent publishes it, and the remediation read model
        folds it from this event, so a plan and the atoms stored for it always agree,
        even when a redelivered diagnosis was generated anew.
        """
        ctx = self.remediation
        if ctx is None:
            return None
        held = {a.atom_id for a in ctx.existing}
        generated = planned_atoms([a for a in self.atoms if a.atom_id not in held], "jit")
        cached = " (from cache)" if self.from_cache else ""
        return RemediationPlanned(
            learner_id=ctx.learner_id,
            session_id=ctx.session_id,
            concept_id=self.concept_id,
            question_id=ctx.question_id,
            answer_event_id=ctx.answer_event_id,
            diagnosis_event_id=ctx.diagnosis_event_id,
            fail_mode=ctx.fail_mode,
            atoms=[*ctx.existing, *generated][:MAX_PLAN_ATOMS],
            note=f"{len(ctx.existing)} existing + {len(generated)} generated just in time{cached}.",
            jit_requested=True,
            jit_generated=len(generated),
            from_cache=self.from_cache,
            errors=self.errors[:20],
        )
