"""The walk-through of docs/guides/add-a-tool.md, through the state machine: a dummy write tool,
``pagerduty_page`` (``tests/unit/test_generated.py``), declared by its ``SPEC`` alone, runs as its
own Task state once the definition is generated with it; with a definition not generated again,
the same call ends at ``Unroutable``, which is why ``make lint`` checks that the files are current.

Each case runs in a fresh process: the engine there is built on a definition of the test's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[2]
_RUN = """
import json, sys
from pathlib import Path

from chalicelib.tools import registry
from chalicelib.workflow import definition
from deploy import generate
from tests.unit.test_generated import PAGERDUTY_PAGE

asl = Path(sys.argv[1]) / "maoo.asl.json"
tools = [*registry.TOOLS.values(), *([PAGERDUTY_PAGE] if sys.argv[2] == "generated" else [])]
asl.write_text(generate.generate(tools)[generate.STATE_MACHINE])
definition.ASL_PATH = asl
definition.load_definition.cache_clear()
registry.TOOLS["pagerduty_page"] = PAGERDUTY_PAGE  # registered: its module's SPEC in the registry

import app
from chalicelib.config import reload_settings
from chalicelib.contracts import PerceivedState, Plan, Step
from chalicelib.handlers import tool_handler
from chalicelib.workflow.runs import initial_state
from chalicelib.workflow.sfn_runner import states_entered
from embedded_engine import EmbeddedEngine

settings = reload_settings()
handlers = {**app.app.handler_map, "tool_pagerduty_page": tool_handler("pagerduty_page")}
engine = EmbeddedEngine(settings, handlers).start()
page = Step(id="s1", tool="pagerduty_page", args={"service": "payments", "message": "error rate above 5 %"})
state = initial_state("page the payments on-call", settings, use_memory=False).model_copy(
    update={
        "perception": PerceivedState(intent="page", task_type="single"),
        "plan": Plan(steps=[page]),
        "plan_ok": True,
        "resume_at": "NextStep",  # the planner has no words for the tool: start at its plan
    }
)
execution = engine.runner().run(state.run_id, state.model_dump(mode="json"))
output = execution.output or {}
print(json.dumps({
    "status": execution.status,
    "states": states_entered(execution.history),
    "run_status": output.get("status"),
    "results": output.get("results"),
    "cost": (output.get("counters") or {}).get("cost"),
}))
engine.stop()
"""


def _run_page(tmp_path: Path, definition: str) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MAOO_RUNTIME_DIR": str(tmp_path / "runtime"),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(tmp_path), definition],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_generated_tool_runs_as_its_own_task_state(tmp_path):
    run = _run_page(tmp_path, "generated")

    assert run["status"] == "SUCCEEDED" and run["run_status"] == "succeeded"
    assert run["states"][:5] == ["ResumeAt", "NextStep", "Route", "CallPagerdutyPage", "Observe"]
    assert run["results"]["s1"]["paged"] == "payments"
    assert ":s1:" in run["results"]["s1"]["key"]  # a write: the call carried its idempotency key
    assert run["cost"] == 3.0  # the cost its SPEC declares


def test_a_registered_tool_without_its_generated_branch_is_unroutable(tmp_path):
    run = _run_page(tmp_path, "stale")

    assert run["status"] == "FAILED"
    assert run["states"][-1] == "Unroutable"
    assert "CallPagerdutyPage" not in run["states"]
