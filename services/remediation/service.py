"""JITGenerationService: the seed's semantics on top of the strategy registry.

- generate_for_gap(request) is the core; the four triggers are thin wrappers:
  failed_question fills the gap to 5 atoms, missing_coverage asks for a count,
  user_request for one content type, proactive tops up to 3 the concepts (at most 3
  per call) that have fewer than 3 atoms.
- Content types come from the fail mode; each content type generates its share of
  atoms with its prioritised atom types. Atoms are tagged ``jit_generated`` and
  ``trigger:<type>``, scored 75.0.
- Results are cached under ``{concept_id}:{trigger}:{sorted_content_types}``; a hit
  comes back with ``from_cache`` set. ``clear_cache`` returns how many entries went.
  A request asked again under its id (a redelivered event) gets the answer with
  atoms it got, as it was (the last ``ANSWERED_KEPT`` requests).
- Errors are collected, never raised: no source content gives a warning and no
  atoms; a failing content type does not stop the others; an atom the sink refuses
  is skipped.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import structlog

from events.common import GenerationUsage
from events.content import Atom, ContentType, GenerationTrigger
from events.learning import FailMode
from services.generation import Family, Gateway, generate, register
from services.remediation.llm import llm_atoms
from services.remediation.mapping import (
    MAX_PROACTIVE_CONCEPTS,
    PROACTIVE_TARGET,
    REMEDIATION_TARGET,
    allocate,
    fail_mode_to_content_types,
    types_for_content_type,
)
from services.remediation.rules import AtomTask, has_source_content, make_atoms
from services.remediation.store import ContentStore, Snapshot

__all__ = [
    "JIT",
    "AtomSaveError",
    "AtomSink",
    "CollectingSink",
    "JITGenerationService",
    "JitRequest",
    "JitResult",
    "cache_key",
]

log = structlog.get_logger(__name__)

JIT_QUALITY_SCORE = 75.0
ANSWERED_KEPT = 4096  # requests whose answers a service keeps for their redelivery

JIT: Family[AtomTask, list[Atom]] = register(
    Family("jit", make_atoms, llm=llm_atoms, task="jit-atoms")
)


@dataclass(frozen=True)
class JitRequest:
    """The seed's GenerationRequest."""

    concept_id: uuid.UUID
    trigger: GenerationTrigger
    content_types: list[ContentType] = field(default_factory=lambda: [ContentType.PRACTICE])
    atom_count: int = 3
    learner_id: str | None = None
    fail_mode: FailMode | None = None
    context: dict[str, Any] = field(default_factory=dict)
    strategy: str | None = None  # overrides the service's for this request
    request_id: uuid.UUID | None = None  # the event that asked, when one did


@dataclass(frozen=True)
class JitResult:
    """The seed's GenerationResult, plus what generating it cost."""

    concept_id: uuid.UUID
    atoms: list[Atom]
    trigger: GenerationTrigger
    generation_time_ms: int
    from_cache: bool = False
    errors: list[str] = field(default_factory=list)
    usage: list[GenerationUsage] = field(default_factory=list)


class AtomSaveError(Exception):
    pass


class AtomSink(Protocol):
    def save(self, atom: Atom) -> None:
        """Keep the atom or raise ``AtomSaveError``."""


@dataclass
class CollectingSink:
    """Collects atoms for the event that publishes them; refuses an atom the concept
    already has (same id or variant), as a unique key would."""

    existing: set[str] = field(default_factory=set)
    saved: list[Atom] = field(default_factory=list)

    def save(self, atom: Atom) -> None:
        for key in (str(atom.atom_id), atom.variant):
            if key in self.existing:
                raise AtomSaveError(f"atom {atom.atom_id} ({atom.variant}) already exists")
        self.existing.update((str(atom.atom_id), atom.variant))
        self.saved.append(atom)


def cache_key(
    concept_id: uuid.UUID, trigger: GenerationTrigger, content_types: Sequence[ContentType]
) -> str:
    return f"{concept_id}:{trigger.value}:{','.join(sorted(ct.value for ct in content_types))}"


class JITGenerationService:
    def __init__(
        self,
        store: ContentStore,
        gateway: Gateway,
        *,
        strategy: str = "auto",
        sink: AtomSink | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.strategy = strategy
        self.sink = sink
        self._cache: dict[str, JitResult] = {}
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._answered: OrderedDict[uuid.UUID, JitResult] = OrderedDict()

    # the four triggers ---------------------------------------------------------------
    async def generate_for_failed_question(
        self,
        concept_id: uuid.UUID,
        learner_id: str | None,
        fail_mode: FailMode | str,
        existing_atom_count: int,
        *,
        context: dict[str, Any] | None = None,
    ) -> JitResult:
        content_types = fail_mode_to_content_types(fail_mode)
        count = REMEDIATION_TARGET - existing_atom_count
        if not content_types or count <= 0:
            return JitResult(concept_id, [], GenerationTrigger.FAILED_QUESTION, 0)
        return await self.generate_for_gap(
            JitRequest(
                concept_id,
                GenerationTrigger.FAILED_QUESTION,
                content_types,
                count,
                learner_id,
                FailMode(fail_mode),
                context or {},
            )
        )

    async def generate_for_missing_coverage(
        self, concept_id: uuid.UUID, atom_count: int = 3
    ) -> JitResult:
        return await self.generate_for_gap(
            JitRequest(concept_id, GenerationTrigger.MISSING_COVERAGE, atom_count=atom_count)
        )

    async def generate_on_user_request(
        self,
        concept_id: uuid.UUID,
        learner_id: str | None,
        content_type: ContentType = ContentType.PRACTICE,
        count: int = 3,
    ) -> JitResult:
        return await self.generate_for_gap(
            JitRequest(
                concept_id, GenerationTrigger.USER_REQUEST, [content_type], count, learner_id
            )
        )

    async def proactive_generation(
        self, learner_id: str | None, upcoming_concepts: Sequence[uuid.UUID]
    ) -> list[JitResult]:
        results = []
        for concept_id in list(upcoming_concepts)[:MAX_PROACTIVE_CONCEPTS]:
            existing = len(await self.store.atoms(concept_id))
            if existing >= PROACTIVE_TARGET:
                continue
            results.append(
                await self.generate_for_gap(
                    JitRequest(
                        concept_id,
                        GenerationTrigger.PROACTIVE,
                        atom_count=PROACTIVE_TARGET - existing,
                        learner_id=learner_id,
                    )
                )
            )
        return results

    # the core ------------------------------------------------------------------------
    async def generate_for_gap(
        self, request: JitRequest, snapshot: Snapshot | None = None
    ) -> JitResult:
        """The atoms ``request`` asks for; ``snapshot``, when the caller has just read
        the concept, its siblings and atoms, saves reading them again."""
        key = cache_key(request.concept_id, request.trigger, request.content_types)
        while True:
            # A redelivered request (one id) gets its first answer as it was: the same
            # atoms-generated, not a cache hit.
            answered = self._answered.get(request.request_id) if request.request_id else None
            if answered is not None:
                return answered
            if key in self._cache:
                return self._remember(request, replace(self._cache[key], from_cache=True))
            # A request for a key being generated (a worker takes several at once) waits
            # for that generation and answers from the cache, as the seed's cache does.
            pending = self._inflight.get(key)
            if pending is None:
                break
            await asyncio.shield(pending)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            return self._remember(request, await self._generate(key, request, snapshot))
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]
            future.set_result(None)

    def _remember(self, request: JitRequest, result: JitResult) -> JitResult:
        """Keep an answer with atoms for its request id (one without is tried again)."""
        if request.request_id is not None and result.atoms:
            self._answered[request.request_id] = result
            if len(self._answered) > ANSWERED_KEPT:
                self._answered.popitem(last=False)
        return result

    async def _generate(
        self, key: str, request: JitRequest, snapshot: Snapshot | None
    ) -> JitResult:
        started = time.perf_counter()
        errors: list[str] = []
        if snapshot is None:
            snapshot = await self.store.snapshot(request.concept_id)
        concept, sibling_list, existing = snapshot
        if concept is None or not has_source_content(concept):
            message = f"no source content for concept {request.concept_id}"
            log.warning("jit.no_source_content", concept_id=str(request.concept_id))
            return JitResult(request.concept_id, [], request.trigger, 0, errors=[message])
        siblings = tuple(sibling_list)
        avoid = frozenset(a.variant for a in existing)
        sink = self.sink or CollectingSink(
            {k for a in existing for k in (str(a.atom_id), a.variant)}
        )
        atoms: list[Atom] = []
        usage: list[GenerationUsage] = []
        for content_type, count in allocate(request.content_types, request.atom_count).items():
            task = AtomTask(
                concept=concept,
                siblings=siblings,
                content_type=content_type,
                atom_types=tuple(types_for_content_type(content_type, request.fail_mode)),
                count=count,
                avoid=avoid | {a.variant for a in atoms},
                fail_mode=request.fail_mode,
                written=tuple(a.front for a in (*existing, *atoms)),
            )
            try:
                strategy = request.strategy or self.strategy
                made = await generate(JIT, task, strategy=strategy, gateway=self.gateway)
            except Exception as exc:  # one content type failing does not stop the others
                log.error(
                    "jit.content_type_failed", content_type=content_type.value, error=str(exc)
                )
                errors.append(f"{content_type.value}: {type(exc).__name__}: {exc}")
                continue
            usage.append(made.usage)
            if len(made.value) < count:
                errors.append(
                    f"{content_type.value}: only {len(made.value)} of {count} atoms could be "
                    f"made from {concept.name}'s facts"
                )
            for atom in made.value:
                tagged = atom.model_copy(
                    update={
                        "tags": ["jit_generated", f"trigger:{request.trigger.value}"],
                        "quality_score": JIT_QUALITY_SCORE,
                        "strategy": made.usage.strategy,
                    }
                )
                try:
                    sink.save(tagged)
                except AtomSaveError as exc:
                    log.error("jit.atom_not_saved", atom_id=str(atom.atom_id), error=str(exc))
                    errors.append(f"atom skipped: {exc}")
                    continue
                atoms.append(tagged)
        result = JitResult(
            request.concept_id,
            atoms,
            request.trigger,
            round((time.perf_counter() - started) * 1000),
            errors=errors,
            usage=usage,
        )
        if atoms:
            self._cache[key] = result
        return result

    def clear_cache(self, concept_id: uuid.UUID | None = None) -> int:
        if concept_id is None:
            cleared = len(self._cache)
            self._cache.clear()
            return cleared
        prefix = f"{concept_id}:"
        keys = [k for k in self._cache if k.startswith(prefix)]
        for k in keys:
            del self._cache[k]
        return len(keys)
