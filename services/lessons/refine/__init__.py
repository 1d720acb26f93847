"""Phase 10 v2: one whole-lesson rewrite, three hard validator layers, a score gate."""
