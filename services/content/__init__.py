"""Content packs: concepts, facts and authored atoms, imported as events."""
