"""A fork's first execution through the real definition on LocalStack's Step Functions runtime.

As in ``test_localstack_durable`` the Lambda answers come from an ``SFN_MOCK_CONFIG`` file: under
test is the definition's entry Choice, which sends a fork (``resume_at`` ``NextStep``, with
``forked_from``) to NextStep, so its history shows where it started and no state before it.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.contracts import ForkOrigin
from chalicelib.workflow.sfn_runner import states_entered
from tests.integration.test_localstack_durable import _run, _state, sfn_machine  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def test_a_fork_starts_at_next_step_and_its_history_says_so(sfn_machine):  # noqa: F811
    fork = _state(resume_at="NextStep", forked_from=ForkOrigin(run_id="run-durable", step_id="s1"))

    done = _run(
        sfn_machine, "Approved", "run-fork", fork
    )  # NextStep routes the call, the tool runs, Finalize

    assert done.status == "SUCCEEDED"
    entered = states_entered(done.history)
    assert entered[:4] == ["ResumeAt", "NextStep", "Route", "CallHttpPost"]
    assert "Perceive" not in entered and "Plan" not in entered
    started = json.loads(done.history[0]["executionStartedEventDetails"]["input"])
    assert started["forked_from"] == {"run_id": "run-durable", "step_id": "s1", "reused": [], "set": {}}
