"""The run page's "Fork from this step" button in a real browser, against a real `chalice local`."""

from __future__ import annotations

import requests

SECONDS = 1000  # Playwright timeouts are in milliseconds
REPORT = "If the error rate of search is above 5 %, open an incident and save a report to report.md"
INCIDENT_DOWN = [{"path": "/incidents", "method": "POST", "fault": "http_503", "count": 99}]


def _incidents(server) -> int:
    effects = requests.get(f"{server.mock_url}/_admin/side-effects", timeout=5).json()["side_effects"]
    return len(effects)


def _metric_reads(server) -> int:
    seen = requests.get(f"{server.mock_url}/_admin/requests", timeout=5).json()["requests"]
    return sum(1 for r in seen if r["method"] == "GET" and r["path"] == "/services/search/metrics")


def _fork_from(page, step: str):
    page.locator(f'#log button[data-fork="{step}"]').click()
    link = page.locator("#fork-link")
    link.wait_for(timeout=30 * SECONDS)
    return link


def test_fork_from_this_step_starts_a_new_run_there_and_asks_before_a_second_incident(server, page):
    # given a run stopped by a fault on its incident POST, the fault then cleared
    doc = server.run(REPORT, INCIDENT_DOWN)
    assert doc["stop_reason"] == "max_retries", doc
    requests.delete(f"{server.mock_url}/_admin/faults", timeout=5).raise_for_status()
    page.goto(server.view_url(doc["run_id"]))
    assert page.locator("#log button[data-fork]").count() == 3  # once per step it ran: s1, s2, s3

    # when the person forks from the failed step
    _fork_from(page, "s3").click()

    # then the fork's page shows it succeed, started at that step, with the metrics read once
    page.wait_for_function(
        "document.getElementById('status').textContent === 'succeeded'", timeout=60 * SECONDS
    )
    assert f"Forked from {doc['run_id']} at step s3" in " ".join(
        page.locator("#forked-from").inner_text().split()
    )
    assert page.locator("#log tr").count() - 1 == 2  # s3 and s4: nothing before the fork point ran again
    assert _incidents(server) == 1 and _metric_reads(server) == 1

    # and forking the original from s3 again asks first, naming the incident already opened
    page.goto(server.view_url(doc["run_id"]))
    assert page.locator("#forks a").count() == 1
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator('#log button[data-fork="s3"]').click()
    page.wait_for_function("document.getElementById('fork-result').textContent.startsWith('refused')")
    assert len(asked) == 1 and "already succeeded" in asked[0] and _incidents(server) == 1


def test_a_confirmed_fork_opens_one_new_incident(server, page):
    doc = server.run(REPORT)
    assert doc["status"] == "succeeded" and _incidents(server) == 1
    page.goto(server.view_url(doc["run_id"]))
    page.on("dialog", lambda dialog: dialog.accept())

    _fork_from(page, "s4").click()  # the report step: a write that succeeded, confirmed

    page.wait_for_function(
        "document.getElementById('status').textContent === 'succeeded'", timeout=60 * SECONDS
    )
    assert page.locator("#forked-from").is_visible()
    assert [row.split()[0] for row in page.locator("#log tr td:nth-child(2)").all_inner_texts()] == ["s4"]
    assert _incidents(server) == 1  # s3 was reused: its incident was not opened again


def test_a_page_opened_as_a_file_links_its_lineage_and_says_where_to_fork(page, tmp_path):
    from chalicelib.viewer import render_trace

    step = {"step_id": "s1", "tool": "calc", "args": {"expression": "2 + 2"}, "attempt": 1, "ok": True}
    trace = {
        "run_id": "run-child",
        "run": {
            "run_id": "run-child",
            "request": "calculate 2 + 2",
            "status": "succeeded",
            "engine": "embedded",
            "final_output": "4",
            "steps": [{**step, "signal": "ok", "decision": "continue", "latency_ms": 1.0, "reason": ""}],
            "forked_from": {"run_id": "run-parent", "step_id": "s1", "reused": []},
            "forks": [{"run_id": "run-grandchild", "step_id": "s1"}],
        },
        "events": [],
        "execution": None,
    }
    target = tmp_path / "child.html"
    target.write_text(render_trace(trace), encoding="utf-8")

    page.goto(target.as_uri())

    assert page.locator('#forked-from a[href="../run-parent/view"]').is_visible()
    assert page.locator('#forks a[href="../run-grandchild/view"]').is_visible()
    assert page.locator('#log button[data-fork="s1"]').is_disabled()
    assert "GET /runs/run-child/view" in page.locator("#fork-result").inner_text()
