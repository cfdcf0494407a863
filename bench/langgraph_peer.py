"""The peer a cold ``python -m cli run`` is measured against: a fresh Python process that imports
MAOO's handlers, builds the same workflow as a LangGraph graph and runs one request through it.

``python -m bench.langgraph_peer --request "calculate 2 + 2"`` prints the final status as JSON.
It gets the same on-demand mock API as the CLI, used the same way: bound at once; started ahead,
beside the graph's imports, when the request's plan is foreseen to call it, else on the first
connection; and not waited for as the process ends. A request that fetches pays for the mock API
on both sides, and one that does not, on neither.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.langgraph_peer", description=__doc__)
    parser.add_argument("--request", required=True)
    args = parser.parse_args(argv)

    from localrun.mock_on_demand import MockApiOnDemand

    mock = MockApiOnDemand()
    os.environ["MAOO_MOCK_API_URL"] = mock.url
    try:
        from chalicelib.config import reload_settings
        from chalicelib.workflow.forecast import calls_origin

        settings = reload_settings()
        if calls_origin(args.request, mock.url):
            mock.start_ahead()
        from app import app
        from bench.drivers import build_langgraph, run_langgraph
        from chalicelib.workflow.runs import initial_state

        graph = build_langgraph(app.handler_map)
        final = run_langgraph(graph, initial_state(args.request, settings).model_dump(mode="json"))
    finally:
        mock.stop(wait=False)  # the process ends here, as the CLI's does
    sys.stdout.write(
        json.dumps({"status": final.get("status"), "final_output": final.get("final_output")}) + "\n"
    )
    return 0 if final.get("status") == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
