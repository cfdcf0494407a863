"""Fork a run from a step, through the state machine: results before the step are reused, the step
and every later one run anew; a write is never repeated by accident and approvals never carry over."""

from __future__ import annotations

import json
import os

import pytest
import requests
from chalice.test import Client
from typer.testing import CliRunner

from chalicelib.config import get_settings
from chalicelib.memory.store import get_run_store
from chalicelib.trace_history import trace_history
from cli.main import app as cli_app
from tests.functional.test_dynamodb_backend import dynamodb_store  # noqa: F401 - the fixture

pytestmark = pytest.mark.functional
runner = CliRunner()
REPORT = "If the error rate of search is above 5 %, open an incident and save a report to report.md"
INCIDENT_DOWN = [{"path": "/incidents", "method": "POST", "fault": "http_503", "count": 99}]
WRITE = "Open a sev2 incident for search"


def _cli(*args: str) -> tuple[int, dict, str]:
    done = runner.invoke(cli_app, [*args, "--json"])
    try:
        return done.exit_code, json.loads(done.stdout), done.output
    except ValueError:
        return done.exit_code, {}, done.output


def _requests(maoo, method: str, path: str) -> list[dict]:
    return [r for r in maoo.requests_seen() if r["method"] == method and r["path"] == path]


def _history(doc: dict) -> list[dict]:
    with open(doc["trace_file"], encoding="utf-8") as handle:
        return trace_history(json.load(handle))


@pytest.fixture
def client(maoo):
    from app import app

    with Client(app, stage_name="local") as chalice_client:
        yield chalice_client


def _post_fork(client, run_id: str, body: dict):
    return client.http.post(
        f"/runs/{run_id}/fork", headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )


def test_a_fork_from_the_failed_incident_post_reuses_the_metrics_and_opens_one_incident(maoo):
    # given a run stopped by a fault on its incident POST, after it read the metrics
    original = maoo.run(REPORT, faults=INCIDENT_DOWN)
    assert (original["status"], original["stop_reason"]) == ("stopped", "max_retries")
    assert maoo.side_effects() == []
    requests.delete(f"{maoo.url}/_admin/faults", timeout=5).raise_for_status()  # the fault is cleared

    # when it is forked from that step
    code, fork, output = _cli("fork", original["run_id"], "--from", "s3")

    # then a new run posts the incident once and writes the report, without reading the metrics again
    assert code == 0, output
    assert fork["run_id"] != original["run_id"] and fork["status"] == "succeeded"
    assert fork["forked_from"] == {
        "run_id": original["run_id"],
        "step_id": "s3",
        "reused": ["s1", "s2"],
        "set": {},
    }
    assert [s["step_id"] for s in fork["steps"]] == ["s3", "s4"]
    assert len(_requests(maoo, "GET", "/services/search/metrics")) == 1  # in total, over both runs
    assert len(maoo.side_effects()) == 1  # one incident
    assert (get_settings().files_dir / "report.md").is_file()
    assert "INC-" in fork["final_output"] and "report.md" in fork["final_output"]
    # the fork's write carried the fork's own idempotency key
    posts = _requests(maoo, "POST", "/incidents")
    assert posts[-1]["headers"]["idempotency-key"].startswith(f"{fork['run_id']}:s3:")
    # and its execution history shows where it started: the entry Choice sent it to NextStep
    assert fork["states"][:2] == ["ResumeAt", "NextStep"]
    assert not {"Perceive", "Plan", "CallHttpGet", "CallCalc"} & set(fork["states"])
    started = json.loads(_history(fork)[0]["executionStartedEventDetails"]["input"])
    assert started["resume_at"] == "NextStep"
    assert started["forked_from"]["run_id"] == original["run_id"]
    # lineage: the listing names the parent, the parent names its fork
    listed = json.loads(runner.invoke(cli_app, ["runs", "--json"]).stdout)["runs"]
    assert listed[0]["forked_from"] == {"run_id": original["run_id"], "step_id": "s3"}
    assert "forked_from" not in listed[1]
    _, shown, _ = _cli("show", original["run_id"])
    assert shown["forks"] == [{"run_id": fork["run_id"], "step_id": "s3"}]
    human = runner.invoke(cli_app, ["show", fork["run_id"]]).output
    assert f"forked from: {original['run_id']} at step s3" in human


def test_a_fork_with_set_fixes_a_bad_argument_of_the_fork_step(maoo):
    # given a run whose first step fetched a wrong URL
    original = maoo.run(f"Fetch {maoo.url}/datas and summarize the result")
    assert (original["status"], original["stop_reason"]) == ("failed", "not_found")

    # when it is forked from that step with the URL corrected
    code, fork, output = _cli("fork", original["run_id"], "--from", "s1", "--set", f"s1.url={maoo.url}/data")

    # then the fork fetches the right URL and summarizes it
    assert code == 0, output
    assert fork["status"] == "succeeded"
    assert [(s["step_id"], s["ok"]) for s in fork["steps"]] == [("s1", True), ("s2", True)]
    assert fork["plan"]["steps"][0]["args"]["url"] == f"{maoo.url}/data"
    assert len(_requests(maoo, "GET", "/data")) == 1
    trace = json.loads(open(fork["trace_file"], encoding="utf-8").read())
    forked = next(e for e in trace["events"] if e["kind"] == "forked_from")
    assert forked["data"]["set"] == {"s1.url": f"{maoo.url}/data"}


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("s1.url=https://example.com/data", "not accepted"),  # the policy: an origin not allowlisted
        ("s1.nope=1", "arguments do not match the schema"),  # the tool's schema
        ("s9.url=x", "the plan has no step 's9'"),
        ("s1url", "write STEP_ID.ARG=VALUE"),
    ],
)
def test_a_set_the_schema_or_the_policy_refuses_runs_nothing(maoo, setting, says):
    original = maoo.run(f"Fetch {maoo.url}/datas and summarize the result")
    before = len(get_run_store().list_runs())

    code, _, output = _cli("fork", original["run_id"], "--from", "s1", "--set", setting)

    assert code == 2 and says in " ".join(output.split()), output
    assert len(get_run_store().list_runs()) == before  # no run was started


def test_a_set_of_a_step_before_the_fork_point_is_refused(maoo):
    original = maoo.run(REPORT, faults=INCIDENT_DOWN)
    code, _, output = _cli("fork", original["run_id"], "--from", "s3", "--set", "s1.url=x")
    assert code == 2 and "comes before the fork point" in " ".join(output.split())


def test_a_fork_before_a_write_that_succeeded_needs_yes_and_then_opens_one_new_incident(maoo):
    # given a run that opened its incident
    original = maoo.run(REPORT)
    assert original["status"] == "succeeded" and len(maoo.side_effects()) == 1

    # when it is forked from the step before the write, without --yes
    code, _, output = _cli("fork", original["run_id"], "--from", "s2")

    # then the CLI says which write would be sent again, and runs nothing
    said = " ".join(output.split())
    assert code == 2 and "s3 (http_post" in said and "already succeeded" in said and "--yes" in said
    assert len(get_run_store().list_runs()) == 1 and len(maoo.side_effects()) == 1

    # with --yes: one new incident, under the fork's own key; the metrics are still read once
    # (the new report names the new incident: a later step's argument is corrected to replace the file)
    code, fork, output = _cli(
        "fork", original["run_id"], "--from", "s2", "--yes", "--set", "s4.overwrite=true"
    )
    assert code == 0 and fork["status"] == "succeeded", output
    effects = maoo.side_effects()
    assert len(effects) == 2 and effects[0]["idempotency_key"] != effects[1]["idempotency_key"]
    assert len(_requests(maoo, "GET", "/services/search/metrics")) == 1

    # and a sibling fork from the same step is asked again: the write succeeded in the first fork
    code, _, output = _cli("fork", original["run_id"], "--from", "s3")
    assert code == 2 and f"succeeded in run {original['run_id']}" in " ".join(output.split())


def test_a_fork_of_a_fork_knows_the_write_its_parent_reused(maoo):
    # given a run that opened its incident and wrote its report, forked from the report step
    original = maoo.run(REPORT)
    code, fork, output = _cli("fork", original["run_id"], "--from", "s4", "--yes")
    assert code == 0 and fork["forked_from"]["reused"] == ["s1", "s2", "s3"], output
    assert len(maoo.side_effects()) == 1  # s3 was reused, not sent again

    # when the fork is forked from the incident step (a result it reused from its parent)
    code, _, output = _cli("fork", fork["run_id"], "--from", "s3")

    # then the write its parent made is named: nobody duplicates it by accident
    assert code == 2 and f"succeeded in run {original['run_id']}" in " ".join(output.split()), output
    code, grandchild, output = _cli(
        "fork", fork["run_id"], "--from", "s3", "--yes", "--set", "s4.overwrite=true"
    )
    assert code == 0 and grandchild["forked_from"]["run_id"] == fork["run_id"], output
    assert grandchild["forked_from"]["reused"] == ["s1", "s2"] and len(maoo.side_effects()) == 2


def test_a_fork_of_a_run_that_waited_for_approval_asks_again(maoo):
    # given a run that held its write for approval, and was approved
    code, held, output = _cli("run", "--request", WRITE, "--no-memory", "--approve", "writes")
    assert code == 3 and held["status"] == "awaiting_approval", output
    refused = runner.invoke(cli_app, ["fork", held["run_id"], "--from", "s1"])
    assert refused.exit_code == 2 and "waits for an approval" in " ".join(refused.output.split())
    code, approved, _ = _cli("approve", held["run_id"])
    assert approved["status"] == "succeeded" and len(maoo.side_effects()) == 1

    # when it is forked from the write
    code, fork, output = _cli("fork", held["run_id"], "--from", "s1", "--yes")

    # then the fork waits for a person again, nothing written yet
    assert code == 3 and fork["status"] == "awaiting_approval", output
    assert fork["pending_approval"]["step_id"] == "s1" and fork["approve"] == "writes"
    assert fork["states"][:2] == ["ResumeAt", "NextStep"] and fork["states"][-1] == "AwaitingApproval"
    assert len(maoo.side_effects()) == 1
    # and approving the fork opens the one new incident
    code, done, _ = _cli("approve", fork["run_id"])
    assert done["status"] == "succeeded" and len(maoo.side_effects()) == 2


def test_fork_over_http_and_its_refusals(client, maoo):
    original = maoo.run(REPORT, faults=INCIDENT_DOWN)
    requests.delete(f"{maoo.url}/_admin/faults", timeout=5).raise_for_status()
    run_id = original["run_id"]

    missing = _post_fork(client, "run-nope", {"from_step": "s1"})
    assert missing.status_code == 404 and "no run 'run-nope'" in missing.json_body["message"]
    unknown = _post_fork(client, run_id, {"from_step": "s9"})
    assert unknown.status_code == 404
    assert "s1 (http_get), s2 (calc), s3 (http_post), s4 (file_write)" in unknown.json_body["message"]
    never = _post_fork(client, run_id, {"from_step": "s4"})
    assert never.status_code == 409 and "never reached" in never.json_body["message"]
    bad = _post_fork(client, run_id, {"step": "s3"})
    assert bad.status_code == 400 and "from_step" in bad.json_body["message"]

    fixed = {"s3.json_body.severity": "sev1"}  # a field of an object argument, corrected
    done = _post_fork(client, run_id, {"from_step": "s3", "guards": {"max_steps": 5}, "set": fixed})
    assert done.status_code == 200, done.json_body
    fork = done.json_body
    assert fork["status"] == "succeeded" and fork["guards"]["max_steps"] == 5
    assert fork["forked_from"]["step_id"] == "s3" and len(maoo.side_effects()) == 1
    assert maoo.side_effects()[0]["object"]["severity"] == "sev1"
    listed = client.http.get("/runs").json_body["runs"]
    assert listed[0]["forked_from"] == {"run_id": run_id, "step_id": "s3"}
    assert client.http.get(f"/runs/{run_id}").json_body["forks"] == [
        {"run_id": fork["run_id"], "step_id": "s3"}
    ]
    assert client.http.get(f"/runs/{run_id}/trace").json_body["run"]["forks"][0]["run_id"] == fork["run_id"]

    again = _post_fork(client, run_id, {"from_step": "s3"})
    assert again.status_code == 409 and again.json_body["error"] == "confirmation_required"
    assert len(maoo.side_effects()) == 1


def test_a_run_in_progress_or_whose_trace_is_gone_is_not_forked(client, maoo):
    doc = maoo.run(REPORT)
    store = get_run_store()
    store.put_run({**doc, "status": "running"})
    store.claim_owner(doc["run_id"], os.getpid(), os.uname().nodename, 9e12)
    live = _post_fork(client, doc["run_id"], {"from_step": "s1"})
    assert live.status_code == 409 and "still in progress" in live.json_body["message"]
    store.claim_owner(doc["run_id"], 2**22 + 12345, os.uname().nodename, 2.0)  # its process is gone
    interrupted = runner.invoke(cli_app, ["fork", doc["run_id"], "--from", "s1"])
    assert interrupted.exit_code == 2 and "cli resume" in " ".join(interrupted.output.split())

    store.put_run(doc)
    store._connection().execute("DELETE FROM checkpoints WHERE run_id = ?", (doc["run_id"],))
    gone = _post_fork(client, doc["run_id"], {"from_step": "s1"})
    assert gone.status_code == 404 and "trace of run" in gone.json_body["message"]


def test_a_fork_interrupted_before_its_first_checkpoint_resumes_at_its_fork_point(maoo):
    from chalicelib.workflow import fork as forks
    from chalicelib.workflow.resume import resume

    # given a fork whose process died before its first state was checkpointed
    original = maoo.run(REPORT, faults=INCIDENT_DOWN)
    requests.delete(f"{maoo.url}/_admin/faults", timeout=5).raise_for_status()
    state = forks.prepare(maoo.session.settings, original["run_id"], "s3")
    forks.begin(state)
    store = get_run_store()
    store.put_run(
        {
            "run_id": state.run_id,
            "request": state.request,
            "status": "running",
            "engine": "embedded",
            "created_at": state.started_at,
            "start_state": state.model_dump(mode="json"),
            "forked_from": state.forked_from.model_dump(mode="json"),
        }
    )
    store.claim_owner(state.run_id, 2**22 + 12345, os.uname().nodename, 2.0)
    assert store.get_run(state.run_id)["status"] == "interrupted"

    # when it is resumed
    resumed = resume(maoo.session.runner(), maoo.session.settings, state.run_id)

    # then it starts at the fork point, not at Perceive: nothing before it runs again
    assert resumed["status"] == "succeeded" and resumed["states"][:2] == ["ResumeAt", "NextStep"]
    assert resumed["forked_from"]["step_id"] == "s3"
    assert len(_requests(maoo, "GET", "/services/search/metrics")) == 1 and len(maoo.side_effects()) == 1


def test_a_fork_works_on_the_dynamodb_store(maoo, dynamodb_store):  # noqa: F811
    original = maoo.run(REPORT, faults=INCIDENT_DOWN)
    requests.delete(f"{maoo.url}/_admin/faults", timeout=5).raise_for_status()

    code, fork, output = _cli("fork", original["run_id"], "--from", "s3")

    assert code == 0 and fork["status"] == "succeeded", output
    assert get_run_store().list_runs()[0]["forked_from"] == {"run_id": original["run_id"], "step_id": "s3"}
    from chalicelib.workflow.fork import forks_of

    assert forks_of(original["run_id"]) == [{"run_id": fork["run_id"], "step_id": "s3"}]
    assert len(_requests(maoo, "GET", "/services/search/metrics")) == 1 and len(maoo.side_effects()) == 1


def test_a_plain_write_left_in_doubt_is_not_sent_again_by_a_fork_without_yes(maoo, monkeypatch):
    monkeypatch.setenv("MAOO_IDEMPOTENT_ORIGINS", "")  # http_post is a plain write here
    from chalicelib.config import reload_settings

    reload_settings()
    # given a run whose write was applied but its answer lost: the run stopped, never repeating it
    original = maoo.run(
        WRITE, faults=[{"path": "/incidents", "method": "POST", "fault": "applied_no_response", "count": 1}]
    )
    assert original["stop_reason"] == "unsafe_retry" and len(maoo.side_effects()) == 1

    # when it is forked from that write without --yes, then nothing is sent
    code, _, output = _cli("fork", original["run_id"], "--from", "s1")
    said = " ".join(output.split())
    assert code == 2 and "s1 (http_post, write, may have been applied in run" in said, output
    assert len(maoo.side_effects()) == 1

    # and with --yes the person takes the risk: the write is sent once more, under the fork's key
    code, fork, output = _cli("fork", original["run_id"], "--from", "s1", "--yes")
    assert code == 0 and fork["status"] == "succeeded", output
    assert len(maoo.side_effects()) == 2
