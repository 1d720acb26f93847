"""The content family: content packs (concepts, facts, authored atoms) and the atoms read model."""

from __future__ import annotations

from events.content import AtomImported, ConceptImported
from services.runtime.family import FamilySpec

__all__ = ["FAMILY"]

FAMILY = FamilySpec(
    name="content",
    summary="content packs imported into the log; concepts and learning atoms",
    read_models=("projections.content:ContentProjection",),
    cli={"content": "services.content.cli:content_app"},
    inputs=(ConceptImported, AtomImported),
)
