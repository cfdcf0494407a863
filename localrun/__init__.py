"""Running a request on this machine, for every front end that does (the CLI, the eval, the bench).

``session.Session`` opens what a run needs here: the settings, the mock API served in-process on
demand (``mock_on_demand``, on the port a resumed run started with: ``mock_origin``) and the
embedded engine. It sits beside the front ends, not inside one: ``eval/`` and ``bench/`` use it
without importing ``cli``.
"""
