"""Strength-session JIT adjustment (training-llm-jit-generator.md): formula, llm and
hybrid strategies under hard constraints."""
