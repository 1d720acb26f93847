"""Worksheet courses (course-candidate-generation.md): best of K candidates generated in
parallel, each self-reviewed and scored alone by deterministic checks (exact
arithmetic included), the argmax selected by a fan-in saga, and a fail-fast 422
when every score is below the minimum viable one.

Modules: ``settings`` (the seed's flags), ``planning`` and ``diversity`` (what each
candidate is asked for), ``rules``/``problems``/``worksheets``/``fact_items``/``facts``
(the offline strategy), ``llm`` and ``strategies`` (the gateway), ``checks``,
``arithmetic``, ``readability`` and ``scoring`` (the score), ``selection`` and
``saga`` (the fan-in), ``agents`` (the handlers), ``api`` and ``cli`` (the surfaces),
``logs`` (the seed's log lines), ``inprocess`` (the whole flow without a broker).
"""
