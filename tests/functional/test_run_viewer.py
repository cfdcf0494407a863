"""The run page: GET /runs/{id}/view and `cli show --html`, for runs that really went through the machine."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests
from chalice.test import Client
from typer.testing import CliRunner

from chalicelib.workflow.definition import load_definition
from cli.demos import DEMOS
from cli.main import app as cli_app

STATES = list(load_definition()["States"])


@pytest.fixture
def client(maoo):
    from app import app

    with Client(app, stage_name="local") as chalice_client:
        yield chalice_client


def demo(maoo, name: str) -> dict:
    chosen = DEMOS[name]
    maoo.session.arm_faults(chosen.faults)
    return maoo.session.run(chosen.request, chosen.guards, use_memory=False)


def view(client, run_id: str) -> str:
    response = client.http.get(f"/runs/{run_id}/view")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    return response.body.decode("utf-8")


def facts(client, run_id: str) -> dict:
    response = client.http.get(f"/runs/{run_id}/view?format=json")
    assert response.status_code == 200
    return response.json_body


def node_classes(page: str) -> dict[str, str]:
    return dict(
        (m.group(2), m.group(1)) for m in re.finditer(r'<g class="([^"]+)" data-state="([^"]+)"', page)
    )


def test_a_finished_run_page_is_self_contained_and_draws_every_state(maoo, client):
    doc = demo(maoo, "happy")

    page = view(client, doc["run_id"])

    assert not re.search(r"<(script|img|iframe)[^>]+src=|<link |@import|url\((?!#)", page), (
        "the page loads nothing"
    )
    assert not re.search(r'(href|src)="(https?:)?//', page)
    nodes = node_classes(page)
    assert list(nodes) == STATES
    entered = set(doc["states"])
    assert all("unvisited" not in nodes[s] for s in entered) and all(
        "unvisited" in nodes[s] for s in set(STATES) - entered
    )
    assert doc["request"] in page and doc["final_output"].split(".")[0] in page
    assert 'data-live="false"' in page


def test_the_refinement_page_counts_retries_and_the_replan_on_their_edges(maoo, client):
    doc = demo(maoo, "refinement")
    retries = sum(1 for s in doc["steps"] if s["decision"] == "retry")

    seen = facts(client, doc["run_id"])

    assert [v["name"] for v in seen["visits"]] == doc["states"]
    assert seen["edge_counts"]["Decide->Backoff#choice:decision = retry"] == retries > 0
    assert seen["edge_counts"]["Decide->Plan#choice:decision = replan"] == doc["counters"]["replans"] == 1
    assert seen["edge_counts"]["Route->Finalize#choice:route = finish"] == 1
    assert sum(seen["edge_counts"].values()) == len(doc["states"]) - 1  # every step of the path is on an edge
    page = view(client, doc["run_id"])
    assert re.search(r'class="edge taken retry"', page) and re.search(r'class="edge taken replan"', page)
    assert "revision 1 (after a replan)" in page
    assert [c["attempt"] for c in seen["tool_calls"] if c["step_id"] == "s3"] == [1, 2, 3]
    for call in seen["tool_calls"]:  # each call is joined to the Task state that made it
        state = "Call" + "".join(part.title() for part in call["tool"].split("_"))
        assert seen["visits"][call["visit"]]["name"] == state


def test_a_state_visit_carries_its_input_output_and_what_changed(maoo, client):
    doc = demo(maoo, "happy")

    seen = facts(client, doc["run_id"])

    plan = next(v for v in seen["visits"] if v["name"] == "Plan")
    assert seen["docs"][plan["input"]]["plan_ok"] is False and seen["docs"][plan["output"]]["plan_ok"] is True
    assert {"path": "$.plan_ok", "op": "changed", "before": "false", "after": "true"} in plan["changes"]


def test_a_stopped_run_page_gives_the_stop_reason(maoo, client):
    doc = demo(maoo, "stop")
    assert doc["status"] == "stopped"

    page = view(client, doc["run_id"])

    assert f'<b id="stop-reason">{doc["stop_reason"]}</b>' in page
    assert "o-warn" in node_classes(page)["CallHttpPost"]  # its calls failed


def test_a_run_that_reached_a_fail_state_shows_it_failed(maoo, engine, monkeypatch, client):
    real = engine.handlers["next_step"]

    def smuggles_a_tool(event, context):
        result = real(event, context)
        if result.get("route") == "call":
            result["call"]["tool"] = "shell"
        return result

    monkeypatch.setitem(engine.handlers, "next_step", smuggles_a_tool)
    doc = maoo.run("calculate 2 + 2")
    assert doc["status"] == "failed"

    seen = facts(client, doc["run_id"])

    assert seen["node_outcomes"]["Unroutable"] == "fail"
    assert seen["visits"][-1]["name"] == "Unroutable"
    assert "o-fail" in node_classes(view(client, doc["run_id"]))["Unroutable"]


def test_a_running_run_page_is_live_until_the_run_ends(maoo, client):
    maoo.session.arm_faults(
        [{"path": "/data", "method": "GET", "fault": "http_429", "count": 1, "params": {"retry_after": 3}}]
    )
    started = client.http.post(
        "/runs",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"request": "Fetch mock data", "wait": False, "use_memory": False}),
    )
    run_id = started.json_body["run_id"]

    seen = facts(client, run_id)
    for _ in range(300):  # bounded: until the Backoff wait is in flight (it lasts 3 s)
        if seen["status"] != "running" or seen["current"] == "Backoff":
            break
        time.sleep(0.02)
        seen = facts(client, run_id)
    assert seen["status"] == "running" and seen["live"] is True and seen["current"] == "Backoff"
    page = view(client, run_id)
    assert 'data-live="true"' in page and 'id="live"' in page
    assert "current" in node_classes(page)["Backoff"]

    for _ in range(400):  # bounded: until the run ends
        if client.http.get(f"/runs/{run_id}").json_body["status"] != "running":
            break
        time.sleep(0.05)
    done = facts(client, run_id)
    assert done["status"] == "succeeded" and done["live"] is False and done["current"] is None


def test_view_of_an_unknown_run_is_404_and_a_bad_format_is_400(maoo, client):
    missing = client.http.get("/runs/run-nope/view")
    assert missing.status_code == 404 and "run-nope" in missing.json_body["message"]

    doc = maoo.run("calculate 1 + 1")
    bad = client.http.get(f"/runs/{doc['run_id']}/view?format=pdf")
    assert bad.status_code == 400 and "html or json" in bad.json_body["message"]


def test_cli_show_html_writes_the_same_page(maoo, client, tmp_path):
    doc = demo(maoo, "happy")
    target = tmp_path / "pages" / "run.html"

    result = CliRunner().invoke(cli_app, ["show", doc["run_id"], "--html", str(target)])

    assert result.exit_code == 0, result.output
    written = target.read_text(encoding="utf-8")
    assert list(node_classes(written)) == STATES and doc["run_id"] in written
    assert node_classes(written) == node_classes(view(client, doc["run_id"]))


def test_cli_show_html_refuses_an_unknown_run_and_a_folder(maoo, tmp_path):
    unknown = CliRunner().invoke(cli_app, ["show", "run-nope", "--html", str(tmp_path / "x.html")])
    assert unknown.exit_code == 2 and "no run 'run-nope'" in unknown.output

    doc = maoo.run("calculate 1 + 1")
    folder = CliRunner().invoke(cli_app, ["show", doc["run_id"], "--html", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder" in " ".join(folder.output.split())


def test_the_mock_api_saw_the_runs_the_pages_show(maoo, client):
    """A page shows what happened, not what was planned: its tool calls are the requests the API saw."""
    doc = demo(maoo, "stop")
    seen = facts(client, doc["run_id"])
    posts = [
        r
        for r in requests.get(f"{maoo.url}/_admin/requests", timeout=5).json()["requests"]
        if r["method"] == "POST"
    ]

    assert len([c for c in seen["tool_calls"] if c["tool"] == "http_post"]) == len(posts) > 1


def test_a_run_whose_trace_file_is_gone_gets_its_path_from_the_engine(maoo, client, monkeypatch):
    """As on AWS, where the trace file is on another machine: the page asks the engine for the history."""
    from embedded_engine import EmbeddedEngine

    # AWS keeps an execution's history; the embedded engine forgets it once the trace is stored
    monkeypatch.setattr(EmbeddedEngine, "keep_finished", 8)
    doc = client.http.post(
        "/runs", headers={"Content-Type": "application/json"}, body=json.dumps({"request": "calculate 2 + 2"})
    ).json_body
    Path(doc["trace_file"]).unlink()

    seen = facts(client, doc["run_id"])

    assert [v["name"] for v in seen["visits"]] == doc["states"]
    assert seen["node_outcomes"]["Done"] == "ok"
