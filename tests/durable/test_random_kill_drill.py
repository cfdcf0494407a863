"""``SIGKILL`` at seeded random moments spread over whole runs, then a resume in a new process.

Each kill lands wherever it lands: in the CLI's start-up, between states, inside a tool call (the
mock API holds every POST a little, so a share of kills fall while a write is in flight), during
Finalize. Every kill that left a run must resume to ``succeeded`` with each write made once and the
report written once; a kill that left no run must leave nothing behind that says otherwise.
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.durable.conftest import Cli
from tests.durable.test_in_flight_drills import OPS_REQUEST, WRITES, _records, _report, assert_finished_once

pytestmark = pytest.mark.functional

SEED = 26
KILLS = 30
EARLY = 3  # of which, kills during the CLI's start-up (before the run is recorded)
HOLD = {"fault": "slow", "params": {"delay": 0.3}}  # every POST: a write is in flight for a while
FAULTS = [{"path": path, "method": "POST", **HOLD} for path in WRITES.values()]


@pytest.fixture(scope="module")
def mock():
    from mock_api.server import start_in_thread

    with start_in_thread() as running:
        yield running


def _until_listed(cli: Cli, process) -> bool:
    """Wait until the spawned run is recorded (True), or its process ended first (False)."""
    while not cli.listed():
        if process.poll() is not None:
            return bool(cli.listed())
        time.sleep(0.01)
    return True


def _spans(cli: Cli) -> tuple[float, float]:
    """How long a whole run takes to be recorded (the CLI's start-up), then to end."""
    cli.arm(FAULTS)
    started = time.monotonic()
    process = cli.spawn("run", "--request", OPS_REQUEST, "--no-memory")
    assert _until_listed(cli, process)
    recorded = time.monotonic()
    assert process.wait(timeout=120) == 0
    return recorded - started, time.monotonic() - recorded


def test_kills_at_random_moments_all_resume_to_the_same_end_with_every_write_made_once(mock, tmp_path):
    # given how long a run takes, and what an uninterrupted run answers and writes
    baseline = Cli(tmp_path / "baseline", mock.url)
    start_up, active = _spans(baseline)
    code, uninterrupted = baseline.doc("show", baseline.only_run()["run_id"])
    assert code == 0 and uninterrupted["status"] == "succeeded"
    uninterrupted["report"] = _report(baseline).read_text(encoding="utf-8")
    # a few kills during the CLI's start-up, the rest one in each equal slice of the recorded run,
    # at a seeded moment within its slice (counted from when the run is recorded)
    rng = random.Random(SEED)
    early = [(False, start_up * rng.random()) for _ in range(EARLY)]
    late = [(True, active * (i + rng.random()) / (KILLS - EARLY)) for i in range(KILLS - EARLY)]
    outcomes: list[str] = []
    for i, (after_record, moment) in enumerate(early + late):
        cli = Cli(tmp_path / f"kill-{i:02d}", mock.url)
        cli.arm(FAULTS)
        # when the run is killed at that moment
        process = cli.spawn("run", "--request", OPS_REQUEST, "--no-memory")
        if after_record:
            assert _until_listed(cli, process)
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)  # a process that ended just before is left as it ended
        assert process.wait(timeout=60) in (0, -signal.SIGKILL)
        where = f"kill {i} at {moment:.2f} s {'into the run' if after_record else 'after the start'}"
        listed = cli.listed()
        if not listed:
            # then a kill before the run was recorded leaves no run, and nothing was sent or written
            assert not after_record
            assert cli.side_effects() == [], where
            assert not _report(cli).exists(), where
            outcomes.append("no run")
            continue
        [run] = listed
        if run["status"] == "succeeded":  # it finished before the kill
            outcomes.append("finished")
            continue
        # then the run reads interrupted, and a resume in a new process finishes it, each write once
        assert run["status"] == "interrupted", (where, run)
        in_flight = "INPROGRESS" in _records(cli)  # the kill fell inside a write
        code, resumed = cli.doc("resume", run["run_id"])
        assert code == 0, (where, resumed.get("stop_detail"))
        try:
            assert_finished_once(cli, resumed, uninterrupted)
        except AssertionError as failure:
            raise AssertionError(f"{where}: {failure}") from None
        outcomes.append("resumed, a write in flight" if in_flight else "resumed")
    assert len(outcomes) == KILLS
    print({outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))})  # seen with -s
