"""The understanding corpus: requests written the way operators write, each with what must happen.

``python -m eval.understanding`` runs every request of ``tuning.json`` and ``held_out.json``
through the real pipeline (the embedded engine, the mock API as the CLI uses it) and reports,
per part and per category, how many were handled right and how many *false successes* there were:
runs that reported ``succeeded`` while the request was not done as asked. ``held_out.json`` is
written once and not read while perception rules are written; it measures whether rules generalise.
"""
