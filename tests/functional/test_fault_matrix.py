"""Every fault kind against every tool it applies to, through the embedded state machine.

Each row: the fault armed on the mock API, the signals and decisions the run must show, how it
ends, and how many side effects the mock API recorded (exactly one per successful logical write).
"""

from __future__ import annotations

import pytest

from chalicelib.config import reload_settings

READ = "Fetch mock data"  # http_get /data; the ops database holds the same items (alternative route)
WRITE = "Open a sev2 incident for search"  # http_post /incidents; no alternative route

T3 = ["transient"] * 3
RETRY_RETRY_REPLAN = ["retry", "retry", "replan"]
RETRY_RETRY_ABORT = ["retry", "retry", "abort"]

CASES = [
    # id, request, fault, params, count, signals, decisions, status, stop_reason, side effects
    (
        "get-500",
        READ,
        "http_500",
        {},
        None,
        T3 + ["ok"],
        RETRY_RETRY_REPLAN + ["continue"],
        "succeeded",
        None,
        0,
    ),
    (
        "get-502",
        READ,
        "http_502",
        {},
        None,
        T3 + ["ok"],
        RETRY_RETRY_REPLAN + ["continue"],
        "succeeded",
        None,
        0,
    ),
    (
        "get-503",
        READ,
        "http_503",
        {},
        None,
        T3 + ["ok"],
        RETRY_RETRY_REPLAN + ["continue"],
        "succeeded",
        None,
        0,
    ),
    (
        "get-429",
        READ,
        "http_429",
        {"retry_after": 0},
        None,
        ["rate_limited"] * 3 + ["ok"],
        RETRY_RETRY_REPLAN + ["continue"],
        "succeeded",
        None,
        0,
    ),
    ("get-401", READ, "http_401", {}, None, ["auth", "ok"], ["replan", "continue"], "succeeded", None, 0),
    (
        "get-404",
        READ,
        "http_404",
        {},
        None,
        ["not_found", "ok"],
        ["replan", "continue"],
        "succeeded",
        None,
        0,
    ),
    ("get-422", READ, "http_422", {}, None, ["bad_args"], ["abort"], "failed", "bad_args", 0),
    (
        "get-timeout",
        READ,
        "timeout",
        {"delay": 1.5},
        None,
        ["timeout"] * 3 + ["ok"],
        RETRY_RETRY_REPLAN + ["continue"],
        "succeeded",
        None,
        0,
    ),
    (
        "get-drop",
        READ,
        "drop",
        {},
        None,
        T3 + ["ok"],
        RETRY_RETRY_REPLAN + ["continue"],
        "succeeded",
        None,
        0,
    ),
    (
        "get-malformed",
        READ,
        "malformed_json",
        {},
        None,
        ["malformed_response"] * 3 + ["ok"],
        RETRY_RETRY_REPLAN + ["continue"],
        "succeeded",
        None,
        0,
    ),
    (
        "get-drift",
        READ,
        "schema_drift",
        {},
        None,
        ["schema_drift", "ok"],
        ["patch_args", "continue"],
        "succeeded",
        None,
        0,
    ),
    ("get-slow", READ, "slow", {"delay": 0.1}, None, ["ok"], ["continue"], "succeeded", None, 0),
    (
        "get-intermittent",
        READ,
        "http_503",
        {},
        2,
        ["transient", "transient", "ok"],
        ["retry", "retry", "continue"],
        "succeeded",
        None,
        0,
    ),
    ("post-500", WRITE, "http_500", {}, None, T3, RETRY_RETRY_ABORT, "stopped", "max_retries", 0),
    ("post-502", WRITE, "http_502", {}, None, T3, RETRY_RETRY_ABORT, "stopped", "max_retries", 0),
    ("post-503", WRITE, "http_503", {}, None, T3, RETRY_RETRY_ABORT, "stopped", "max_retries", 0),
    (
        "post-429",
        WRITE,
        "http_429",
        {"retry_after": 0},
        None,
        ["rate_limited"] * 3,
        RETRY_RETRY_ABORT,
        "stopped",
        "max_retries",
        0,
    ),
    ("post-401", WRITE, "http_401", {}, None, ["auth"], ["abort"], "failed", "auth", 0),
    ("post-404", WRITE, "http_404", {}, None, ["not_found"], ["abort"], "failed", "not_found", 0),
    (
        "post-422",
        WRITE,
        "http_422",
        {"field": "severity"},
        1,
        ["bad_args", "ok"],
        ["patch_args", "continue"],
        # patched to the safe default sev3 and opened once; sev2 was asked, so never a success
        "failed",
        "criteria_unmet",
        1,
    ),
    (
        "post-timeout",
        WRITE,
        "timeout",
        {"delay": 1.0},
        1,
        ["unknown_outcome", "ok"],
        ["retry", "continue"],
        "succeeded",
        None,
        1,
    ),
    (
        "post-drop",
        WRITE,
        "drop",
        {},
        1,
        ["unknown_outcome", "ok"],
        ["retry", "continue"],
        "succeeded",
        None,
        1,
    ),
    (
        "post-malformed",
        WRITE,
        "malformed_json",
        {},
        1,
        ["malformed_response", "ok"],
        ["retry", "continue"],
        "succeeded",
        None,
        1,
    ),
    ("post-drift", WRITE, "schema_drift", {}, None, ["ok"], ["continue"], "succeeded", None, 1),
    ("post-slow", WRITE, "slow", {"delay": 0.1}, None, ["ok"], ["continue"], "succeeded", None, 1),
    (
        "post-intermittent",
        WRITE,
        "http_503",
        {},
        2,
        ["transient", "transient", "ok"],
        ["retry", "retry", "continue"],
        "succeeded",
        None,
        1,
    ),
    (
        "post-applied-no-response",
        WRITE,
        "applied_no_response",
        {},
        1,
        ["unknown_outcome", "ok"],
        ["retry", "continue"],
        "succeeded",
        None,
        1,
    ),
]


@pytest.fixture
def short_http_timeout(monkeypatch):
    monkeypatch.setenv("MAOO_HTTP_TIMEOUT_SECONDS", "0.5")
    reload_settings()


@pytest.mark.parametrize(
    "request_text, fault, params, count, signals, decisions, status, stop_reason, effects",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_fault_through_the_state_machine(
    maoo,
    short_http_timeout,
    request_text,
    fault,
    params,
    count,
    signals,
    decisions,
    status,
    stop_reason,
    effects,
):
    method = "GET" if request_text == READ else "POST"
    path = "/data" if request_text == READ else "/incidents"
    doc = maoo.run(
        request_text,
        faults=[{"path": path, "method": method, "fault": fault, "count": count, "params": params}],
    )

    assert [s["signal"] for s in doc["steps"]] == signals
    assert [s["decision"] for s in doc["steps"]] == decisions
    assert (doc["status"], doc["stop_reason"]) == (status, stop_reason)
    assert len(maoo.side_effects()) == effects
    states = doc["states"]
    assert states[:2] == ["ResumeAt", "Perceive"] and states[-2:] == ["Finalize", "Done"]
    assert states.count("Backoff") == decisions.count("retry")
    assert states.count("Plan") == 1 + decisions.count("replan")


def test_every_fault_in_the_catalogue_is_in_the_matrix(mock_api):
    import requests

    catalogue = requests.get(f"{mock_api.url}/_admin/catalogue", timeout=5).json()
    names = (
        {entry["name"] for entry in catalogue["faults"]}
        if isinstance(catalogue.get("faults"), list)
        else set(catalogue["faults"])
    )
    assert names <= {case[2] for case in CASES}
