"""MAOO's evaluation harness: scenarios run through the real state machine, scored, reported.

``python -m cli eval`` is the way in. The modules: ``models`` (the scenario file's schema),
``runner`` (run and judge scenarios, one runtime folder each, optionally in parallel processes),
``scoring`` (one pass/fail check per expectation) and ``report`` (JSON summary, JUnit XML, HTML).
"""
