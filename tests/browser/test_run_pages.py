"""Run pages in a real browser: the graph, the path, a state's documents, live refresh, approval."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
from typer.testing import CliRunner

from chalicelib.config import reload_settings
from chalicelib.workflow.definition import load_definition
from cli.demos import DEMOS
from cli.main import app as cli_app

STATES = list(load_definition()["States"])
SECONDS = 1000  # Playwright timeouts are in milliseconds


def demo(server, name: str) -> dict:
    chosen = DEMOS[name]
    return server.run(chosen.request, chosen.faults, guards=chosen.guards)


def only_its_own_origin(page, origin: str) -> None:
    others = [url for url in page.requested if not url.startswith(origin)]
    assert others == [], f"the page requested {others}"


def test_a_finished_run_shows_every_state_and_its_path(server, page):
    doc = demo(server, "happy")

    page.goto(server.view_url(doc["run_id"]))

    nodes = page.locator("#graph .node")
    assert nodes.evaluate_all("ns => ns.map(n => n.dataset.state)") == STATES
    for state in STATES:
        assert page.locator(f'#graph .node[data-state="{state}"]').is_visible()
    entered = Counter(doc["states"])
    shown = dict(zip(STATES, nodes.evaluate_all("ns => ns.map(n => Number(n.dataset.count))"), strict=True))
    assert shown == {s: entered.get(s, 0) for s in STATES}
    assert page.locator("#graph .node.unvisited").count() == len(set(STATES) - set(entered))
    for source, target in set(pairwise(doc["states"])):  # every step of the path is a drawn, taken edge
        edge = page.locator(f'#graph path.edge.taken[data-from="{source}"][data-to="{target}"]')
        assert edge.count() == 1 and edge.evaluate("e => e.getTotalLength()") > 0, f"{source} -> {target}"
    assert page.locator("#graph path.edge.taken").count() == len(set(pairwise(doc["states"])))
    assert page.locator("#status").inner_text() == "succeeded"
    assert page.locator("#final-output").inner_text().strip() == doc["final_output"]
    only_its_own_origin(page, server.url)


def test_clicking_a_state_shows_its_input_output_and_what_changed(server, page):
    doc = demo(server, "happy")
    page.goto(server.view_url(doc["run_id"]))

    page.locator('#graph .node[data-state="Plan"]').click()

    assert page.locator("#detail-title").inner_text().startswith("Plan (Task)")
    assert '"plan_ok": false' in page.locator("#doc-input").inner_text()
    assert '"plan_ok": true' in page.locator("#doc-output").inner_text()
    assert "$.plan_ok" in page.locator("#detail-body .changes").inner_text()
    assert page.locator('#graph .node.selected[data-state="Plan"]').count() == 1


def test_a_replanned_run_shows_its_retries_replan_and_plan_revisions(server, page):
    doc = demo(server, "refinement")
    retries = sum(1 for s in doc["steps"] if s["decision"] == "retry")
    page.goto(server.view_url(doc["run_id"]))

    assert page.locator("#graph .edge.taken.retry").count() == 1  # drawn thick, in its own colour
    assert page.locator("#graph .edge.taken.replan").count() == 1

    def stroke(selector: str) -> tuple[float, str]:
        return page.locator(selector).first.evaluate(
            "e => [parseFloat(getComputedStyle(e).strokeWidth), getComputedStyle(e).stroke]"
        )

    plain = stroke("#graph path.edge.taken:not(.retry):not(.replan)")
    retry, replan = stroke("#graph .edge.taken.retry"), stroke("#graph .edge.taken.replan")
    assert retry[0] > plain[0] and replan[0] > plain[0]  # they stand out: thicker, each in its own colour
    assert len({plain[1], retry[1], replan[1]}) == 3
    assert page.locator("#graph text.elabel.taken", has_text=f"decision = retry ×{retries}").count() == 1
    assert page.locator("#graph text.elabel.taken", has_text="decision = replan ×1").count() == 1
    assert page.locator("#plans details").count() == 2

    page.locator('#graph .node[data-state="Plan"]').click()  # entered twice: the strip picks a visit
    page.locator("#detail-body .visits button").nth(1).click()
    assert "visit 2 of 2" in page.locator("#detail-title").inner_text()
    assert '"revision": 1' in page.locator("#doc-output").inner_text()

    page.locator("#timeline .tl-item.wait").first.click()  # a Backoff wait on the time axis
    assert page.locator("#detail-title").inner_text().startswith("Backoff (Wait)")
    assert '"wait_seconds"' in page.locator("#doc-input").inner_text()


def test_a_stopped_run_gives_its_stop_reason(server, page):
    doc = demo(server, "stop")
    page.goto(server.view_url(doc["run_id"]))

    assert page.locator("#status").inner_text() == "stopped"
    assert page.locator("#stop-reason").inner_text() == doc["stop_reason"]
    assert "o-warn" in page.locator('#graph .node[data-state="CallHttpPost"]').get_attribute("class")
    calls = page.locator("#log tr").count() - 1
    assert calls == doc["counters"]["tool_calls"]


def test_a_running_run_refreshes_itself_until_it_ends(server, page):
    started = server.run(
        "Fetch mock data",
        [{"path": "/data", "method": "GET", "fault": "http_429", "count": 1, "params": {"retry_after": 6}}],
        wait=False,
    )
    page.goto(server.view_url(started["run_id"]))
    page.evaluate("window.sameDocument = true")

    assert page.locator("#status").inner_text() == "running"
    assert page.locator("#live").is_visible()
    page.locator("#graph .node.current").first.wait_for(timeout=30 * SECONDS)  # the state in flight pulses
    pulse = page.locator("#graph .node.current rect").first.evaluate("e => getComputedStyle(e).animationName")
    assert pulse == "pulse"

    page.wait_for_function(
        "document.getElementById('status').textContent === 'succeeded'", timeout=60 * SECONDS
    )
    assert page.evaluate("window.sameDocument") is True  # refreshed in place, not reloaded
    assert page.locator("#live").count() == 0 and page.locator("#graph .node.current").count() == 0
    only_its_own_origin(page, server.url)


def test_the_page_written_by_the_cli_works_from_a_file(server, page, monkeypatch, tmp_path):
    doc = demo(server, "happy")
    monkeypatch.setenv("MAOO_RUNTIME_DIR", str(server.runtime_dir))  # the server's run store
    reload_settings()
    target = tmp_path / "run.html"
    result = CliRunner().invoke(cli_app, ["show", doc["run_id"], "--html", str(target)])
    assert result.exit_code == 0, result.output

    page.goto(target.as_uri())
    page.locator('#graph .node[data-state="Finalize"]').click()

    assert doc["final_output"].split(";")[0] in page.locator("#doc-output").inner_text()
    assert page.locator("#graph .node").count() == len(STATES)
    only_its_own_origin(page, target.as_uri())


def _paused_run(server) -> dict:
    from app import app

    if "/runs/{run_id}/approval" not in app.routes:
        pytest.skip(
            "approval test skipped: the app has no POST /runs/{run_id}/approval route yet (durable runs)"
        )
    doc = server.run("Open a sev2 incident for search", approve="writes")
    assert doc["status"] == "awaiting_approval", doc
    return doc


def test_approve_resumes_a_run_awaiting_approval(server, page):
    doc = _paused_run(server)
    page.goto(server.view_url(doc["run_id"]))

    assert page.locator("#approval").is_visible()
    assert "http_post" in page.locator("#approval").inner_text()
    page.locator("#approve").click()

    page.wait_for_function(
        "document.getElementById('status').textContent === 'succeeded'", timeout=60 * SECONDS
    )
    assert page.locator("#approval").count() == 0


def test_reject_stops_a_run_awaiting_approval_with_the_reason(server, page):
    doc = _paused_run(server)
    page.goto(server.view_url(doc["run_id"]))

    page.locator("#approval-reason").fill("not during the freeze")
    page.locator("#reject").click()

    page.wait_for_function(
        "document.getElementById('status').textContent === 'stopped'", timeout=60 * SECONDS
    )
    assert page.locator("#stop-reason").inner_text() == "rejected"
    assert "not during the freeze" in page.locator("#page").inner_text()


def test_an_approval_page_opened_as_a_file_says_where_to_approve(page, tmp_path):
    from chalicelib.viewer import render_trace
    from tests.unit.test_viewer_page import PAUSED

    target = tmp_path / "paused.html"
    target.write_text(render_trace(PAUSED), encoding="utf-8")

    page.goto(target.as_uri())

    assert page.locator("#approval").is_visible() and "http_post" in page.locator("#approval").inner_text()
    assert page.locator("#approve").is_disabled() and page.locator("#reject").is_disabled()
    assert "GET /runs/run-paused/view" in page.locator("#approval-result").inner_text()
