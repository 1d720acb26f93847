"""Lesson scoring: structural validation, then quality over six categories (rules or llm)."""
