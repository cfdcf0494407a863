"""A fork in a new CLI process, on the default set-up: the mock API is served where the run planned it."""

from __future__ import annotations

import pytest

from tests.durable.conftest import WRITE_REQUEST, Cli

pytestmark = pytest.mark.functional
REPORT = "If the error rate of search is above 5 %, open an incident and save a report to report.md"


def test_a_fork_in_a_new_process_reaches_the_mock_api_the_run_planned(tmp_path):
    cli = Cli(tmp_path / "fork-runtime", mock_url="")  # every process serves its own mock API
    # given a run that ended, in a process that is gone now
    code, original = cli.doc("run", "--request", REPORT, "--no-memory")
    assert code == 0, original.get("stop_detail")

    # when a new process forks it from its computation, confirming the incident is opened again
    code, fork = cli.doc("fork", original["run_id"], "--from", "s2", "--set", "s4.overwrite=true", "--yes")

    # then the fork's calls reach the origin the plan names, and it succeeds from s2 on
    assert code == 0, fork.get("stop_detail")
    assert [s["step_id"] for s in fork["steps"]] == ["s2", "s3", "s4"]
    assert fork["states"][:2] == ["ResumeAt", "NextStep"]
    assert "INC-" in fork["final_output"]


def test_a_fork_that_would_send_a_made_write_again_exits_2_and_names_it(tmp_path):
    cli = Cli(tmp_path / "fork-refused", mock_url="")
    code, original = cli.doc("run", "--request", WRITE_REQUEST, "--no-memory")
    assert code == 0, original.get("stop_detail")

    refused = cli("fork", original["run_id"], "--from", "s1")

    assert refused.returncode == 2 and refused.stdout == ""
    said = " ".join(refused.stderr.split())
    assert "s1 (http_post" in said and "--yes" in said and "Traceback" not in refused.stderr
    assert len(cli.listed()) == 1
