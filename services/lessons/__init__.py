"""The lessons family (sequential-lesson-generator.md): ten phases as a saga, an llm judge,
one guarded whole-lesson rewrite, improve-lesson. ``family.py`` declares it."""
