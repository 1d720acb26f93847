"""Backgammon drill series (drill-batched-generation.md): GNU Backgammon as ground truth,
a position library, dynamic position loading, batched generation, and the principles
the drills teach (packs/backgammon/principles.yaml)."""
