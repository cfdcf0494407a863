"""The run viewer: one self-contained HTML page per run (``GET /runs/{id}/view``, ``cli show --html``).

``render_trace(trace)`` makes the page from a trace document (run document, MAOO's events and the
engine's history); ``facts_json(trace)`` gives the same facts as JSON. The graph is laid out from
``maoo.asl.json`` by grandalf (see ``graph``); ``facts`` derives what the run did; ``svg`` draws;
``page`` assembles the HTML with its inline style and script (``page.css``, ``page.js``).
"""

from chalicelib.viewer.page import facts_json, render_trace

__all__ = ["facts_json", "render_trace"]
