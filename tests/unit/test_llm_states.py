"""LLM mode is wired in at the composition root (``chalicelib.llm.states``), not imported by the layers.

The layers' Perceive and Plan states take the model step as an argument; these tests check that the
states the Lambdas run pass it exactly when LLM mode is on, and that a rule-based run never loads
the model modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chalicelib.config import reload_settings
from chalicelib.contracts import PerceivedState, Plan, RunState
from chalicelib.journal import run_step
from chalicelib.llm import states
from chalicelib.memory.facts import Recollection
from chalicelib.perception.request_reader import perceive

ROOT = Path(__file__).resolve().parents[2]
REQUEST = "What is the error rate of payments over the last hour?"
MODEL_MODULES = (
    "chalicelib.llm.perceive",
    "chalicelib.llm.plan",
    "chalicelib.llm.prompts",
    "chalicelib.llm.client",
)


def _state(request: str = REQUEST, **update: object) -> RunState:
    return RunState(run_id=f"run-{time.monotonic_ns()}", request=request, started_at=time.time(), **update)


NOTHING_REMEMBERED = Recollection(read_at=0.0)


def _perceive(state: RunState) -> RunState:
    return run_step(states.perceive_state, state, NOTHING_REMEMBERED).state


def _plan(state: RunState) -> RunState:
    return run_step(states.plan_state, state, NOTHING_REMEMBERED).state


@pytest.fixture(autouse=True)
def mock_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ops API the policy allows (a rule-based plan for ``REQUEST`` calls it)."""
    monkeypatch.setenv("MAOO_MOCK_API_URL", "http://127.0.0.1:8765")
    reload_settings()


@pytest.fixture
def llm_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAOO_NO_LLM_MODE", "false")
    reload_settings()


@pytest.fixture
def model_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stand-ins for the model steps that record that they were asked and change what they return."""
    calls: list[str] = []

    def perceive_with_model(state: RunState, rules: PerceivedState) -> tuple[PerceivedState, RunState]:
        calls.append("perceive")
        return rules.model_copy(update={"entities": {**rules.entities, "from": "model"}}), state

    def plan_with_model(
        state: RunState, perception: PerceivedState, rules: Plan, avoid: set[str], revision: int
    ) -> tuple[Plan, RunState]:
        calls.append("plan")
        return rules, state.model_copy(update={"plan_notes": [*state.plan_notes, "from the model"]})

    monkeypatch.setattr("chalicelib.llm.perceive.perceive_with_model", perceive_with_model)
    monkeypatch.setattr("chalicelib.llm.plan.plan_with_model", plan_with_model)
    return calls


def test_with_llm_mode_off_the_states_never_ask_the_model(model_calls: list[str]) -> None:
    perceived = _perceive(_state())
    planned = _plan(perceived)
    assert model_calls == []
    assert planned.plan_ok and "from" not in perceived.perception.entities  # type: ignore[union-attr]


def test_in_llm_mode_the_states_use_the_model_steps(llm_mode: None, model_calls: list[str]) -> None:
    perceived = _perceive(_state())
    planned = _plan(perceived)
    assert model_calls == ["perceive", "plan"]
    assert perceived.perception is not None and perceived.perception.entities["from"] == "model"
    assert planned.plan_ok and "from the model" in planned.plan_notes


def test_in_llm_mode_a_request_that_points_back_is_not_put_to_the_model(
    llm_mode: None, model_calls: list[str]
) -> None:
    perceived = _perceive(_state("do the same as last time"))
    assert model_calls == []
    assert perceived.perception is not None and perceived.perception.task_type == "ambiguous"


def test_in_llm_mode_a_state_the_model_stopped_ends_in_plan(
    llm_mode: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_tokens(
        state: RunState, perception: PerceivedState, rules: Plan, avoid: set[str], revision: int
    ) -> tuple[Plan, RunState]:
        return rules, state.model_copy(update={"status": "stopped", "stop_reason": "llm_token_budget"})

    monkeypatch.setattr("chalicelib.llm.plan.plan_with_model", out_of_tokens)
    after = _plan(_state(perception=perceive(REQUEST)))
    assert after.status == "stopped" and after.stop_reason == "llm_token_budget" and after.plan is None


def test_a_rule_based_run_loads_no_model_module(tmp_path: Path) -> None:
    probe = (
        "import json, sys\n"
        "import app\n"
        "at_import = [m for m in sys.modules if m.startswith('chalicelib.llm')]\n"
        "from localrun.session import Session\n"
        "with Session() as session:\n"
        "    doc = session.run('calculate 2 + 2', use_memory=False)\n"
        f"loaded = [m for m in {MODEL_MODULES!r} if m in sys.modules]\n"
        "print(json.dumps({'status': doc['status'], 'at_import': at_import, 'loaded': loaded,\n"
        "                  'states': 'chalicelib.llm.states' in sys.modules}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "MAOO_RUNTIME_DIR": str(tmp_path), "POWERTOOLS_TRACE_DISABLED": "true"},
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"status": "succeeded", "at_import": [], "loaded": [], "states": True}
