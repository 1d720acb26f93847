"""Backgammon drill series (drill-batched-generation.md): GNU Backgammon as ground truth,
a position library, dynamic position loading and batched generation."""
