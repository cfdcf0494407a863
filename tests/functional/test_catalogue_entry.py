"""Adding a service to the domain catalogue is one entry, and the service is then answerable end to end.

The catalogue is read when the modules load (perception's vocabulary, the planner's routes, the ops
data behind the database and the mock API), so the proof runs in a fresh process: the project's own
``chalicelib/catalogue.py`` with one more ``Service`` entry in ``SERVICES`` stands in for the module,
and requests about the new service go through the whole state machine (the embedded engine and the
mock API, in that process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = "SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)"

# the one entry: a service with its tier, owner, region, figures, an incident and a deployment
BILLING = """Service(
    "billing", 3, "finance-team", "eu-central-1", "degraded", ("bill",),
    metrics=(
        Figures("5m", 500, 40, 60, 300),
        Figures("1h", 6000, 450, 62, 310),
        Figures("24h", 144000, 5760, 61, 305),
    ),
    incidents=(Incident("INC-1007", "Invoice runs stalled", "sev2", "open", "2025-06-02T11:50:00Z"),),
    deployments=(Deployment("DEP-2006", "0.9.1", "2025-06-02T08:00:00Z", "succeeded"),),
)"""

RUNNER = textwrap.dedent(
    """
    import json, pathlib, sys, types
    import chalicelib

    anchor, entry = sys.argv[1], sys.argv[2]
    source = pathlib.Path(chalicelib.__file__).with_name("catalogue.py").read_text()
    assert source.count(anchor) == 1, "the catalogue no longer derives SERVICE_NAMES where expected"
    source = source.replace(anchor, f"SERVICES = (*SERVICES, {entry})\\n{anchor}")
    module = types.ModuleType("chalicelib.catalogue")
    sys.modules["chalicelib.catalogue"] = module
    exec(compile(source, "catalogue.py (with one more service)", "exec"), module.__dict__)
    chalicelib.catalogue = module

    # imported here, the mock API is served from this process (not a fresh child process, which
    # would read the catalogue on disk), so it serves the catalogue with the new entry
    import mock_api.server  # noqa: F401
    from localrun.session import Session

    answers = {}
    with Session() as session:
        for request in sys.argv[3:]:
            doc = session.run(request, {}, use_memory=False)
            answers[request] = {
                "status": doc["status"],
                "stop_reason": doc.get("stop_reason"),
                "final_output": doc.get("final_output") or "",
                "tools": [s["tool"] for s in doc.get("steps", [])],
            }
    print(json.dumps(answers))
    """
)

REQUESTS = {
    "error_rate": "What is the error rate of billing over the last hour?",
    "p95": "p95 latency of billing over 24h",
    "incidents": "list the open incidents for billing",
    "tier": "which services are tier 3",
    "database": "query the database for the metrics of billing over 5m",
    "deploy": "when did billing last deploy and which version",
    "known": "What is the error rate of the search service over the last hour?",
}


@pytest.fixture(scope="module")
def answers() -> dict[str, dict]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, ANCHOR, BILLING, *REQUESTS.values()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {name: found[request] for name, request in REQUESTS.items()}


def _succeeded(answer: dict) -> str:
    assert answer["status"] == "succeeded", answer
    return answer["final_output"]


def test_a_new_service_s_error_rate_comes_from_its_catalogue_figures(answers):
    output = _succeeded(answers["error_rate"])
    assert "450 errors in 6,000 requests" in output and "7.5" in output  # 450 / 6000


def test_a_new_service_s_metric_is_served_for_the_window_asked(answers):
    assert "305" in _succeeded(answers["p95"])


def test_a_new_service_s_incidents_are_listed(answers):
    output = _succeeded(answers["incidents"])
    assert "(1): INC-1007 (sev2, Invoice runs stalled)" in output and "search" not in output


def test_a_new_service_is_found_by_its_tier_in_the_ops_database(answers):
    output = _succeeded(answers["tier"])
    assert "billing" in output and "db_query" in answers["tier"]["tools"]
    assert "payments" not in output


def test_a_new_service_s_figures_are_in_the_ops_database(answers):
    output = _succeeded(answers["database"])
    assert answers["database"]["tools"] == ["db_query"] and "500 requests" in output and "40 errors" in output


def test_a_new_service_s_deployments_are_listed(answers):
    assert "0.9.1" in _succeeded(answers["deploy"])


def test_the_existing_services_answer_as_before_beside_the_new_one(answers):
    assert "6.5" in _succeeded(answers["known"])
