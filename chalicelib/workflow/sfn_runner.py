"""Start an execution, wait for it, read its history: plain boto3 Step Functions calls.

Nothing here knows which engine answers; the same code drives the embedded engine, LocalStack
and AWS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import WorkflowError

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass
class Execution:
    arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]
    source: str = "engine"  # "checkpoints": rebuilt from MAOO's own record (Express keeps none)
    # the engine's own reader of its documents' text (``WorkflowRunner`` ``documents``), if any
    documents: Callable[[str], Any] | None = None


class WorkflowRunner:
    """Engines may offer two shortcuts, each answering what the plain call would:

    - ``until_ended(execution_arn, seconds)`` blocks until the execution may have ended (or
      ``seconds`` pass), so that ``wait`` need not poll; ``DescribeExecution`` still says whether
      it did.
    - ``read_history(execution_arn)`` returns the events ``GetExecutionHistory`` would.

    and one duty: ``forget(execution_arn)``, called by ``release`` once the run's document and
    trace are stored, lets an in-process engine drop the finished execution (a long-lived server
    would otherwise hold every execution it ever ran). LocalStack and AWS keep their own.

    ``documents(text)``, an engine's shortcut for the trace: the document a history's JSON text
    was written from, as parsing the text would give it, or ``None`` when the engine cannot say.

    ``express``: the state machine is an Express one. AWS answers neither ``DescribeExecution``
    nor ``GetExecutionHistory`` for it, so the runner asks neither, on every engine:
    ``express(execution_arn)`` answers what ``DescribeExecution`` would, from the run store
    (``chalicelib.workflow.express``), and a collected execution has no history.
    """

    def __init__(
        self,
        sfn_client: Any,
        state_machine_arn: str,
        poll_seconds: float = 0.005,
        max_poll_seconds: float = 0.25,
        until_ended: Callable[[str, float], Any] | None = None,
        read_history: Callable[[str], list[dict[str, Any]]] | None = None,
        forget: Callable[[str], None] | None = None,
        express: Callable[[str], dict[str, Any]] | None = None,
        documents: Callable[[str], Any] | None = None,
    ):
        self.sfn = sfn_client
        self.state_machine_arn = state_machine_arn
        self.poll_seconds = poll_seconds
        self.max_poll_seconds = max_poll_seconds  # how late the runner may notice the end when it polls
        self.until_ended = until_ended
        self.read_history = read_history
        self.forget = forget
        self.express = express
        self.documents = documents

    def start(self, name: str, payload: dict[str, Any]) -> str:
        response = self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
        )
        return response["executionArn"]

    def wait(
        self, execution_arn: str, timeout_seconds: float = 960.0, on_tick: Callable[[], Any] | None = None
    ) -> dict[str, Any]:
        """Poll until the execution ends; ``on_tick`` runs on every poll (the owner renews its lease there)."""
        deadline = time.monotonic() + timeout_seconds
        started = time.time()
        delay = self.poll_seconds
        ended = False
        if self.until_ended is not None:
            ended = bool(self.until_ended(execution_arn, min(timeout_seconds, self.max_poll_seconds)))
        while True:
            described = self.describe(execution_arn)
            if described["status"] in TERMINAL:
                return described
            if self.express is not None:
                from chalicelib.workflow.express import SILENCE_SECONDS, ended_elsewhere

                last = described.get("checkpointedAt") or started
                if (
                    ended or time.time() - float(last) > SILENCE_SECONDS
                ):  # the engine or the silence says it ended
                    return ended_elsewhere(execution_arn)
            if on_tick is not None:
                on_tick()
            remaining = deadline - time.monotonic()
            if remaining < 0:
                raise WorkflowError(
                    f"execution {execution_arn} still {described['status']} after {timeout_seconds:g} s"
                )
            if self.until_ended is not None:
                ended = bool(self.until_ended(execution_arn, min(remaining, self.max_poll_seconds)))
                continue
            time.sleep(delay)
            delay = min(delay * 1.5, self.max_poll_seconds)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        if self.read_history is not None:
            return self.read_history(execution_arn)
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def collect(self, execution_arn: str, described: dict[str, Any]) -> Execution:
        """A finished execution with its output and full history."""
        output = json.loads(described["output"]) if described.get("output") else None
        return Execution(
            arn=execution_arn,
            status=described["status"],
            output=output,
            error=described.get("error"),
            cause=described.get("cause"),
            history=[] if self.express is not None else self.history(execution_arn),
            documents=self.documents,
        )

    def release(self, execution_arn: str) -> None:
        """The execution's record is stored elsewhere now: the engine may let go of it."""
        if self.forget is not None:
            self.forget(execution_arn)

    def describe(self, execution_arn: str) -> dict[str, Any]:
        if self.express is not None:
            return self.express(execution_arn)
        return self.sfn.describe_execution(executionArn=execution_arn)

    def run(self, name: str, payload: dict[str, Any], timeout_seconds: float = 960.0) -> Execution:
        arn = self.start(name, payload)
        return self.collect(arn, self.wait(arn, timeout_seconds))


def states_entered(history: list[dict[str, Any]]) -> list[str]:
    """The names of the states an execution entered, in order."""
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def state_outputs(history: list[dict[str, Any]]):
    """The JSON documents states passed on, newest first: what a failed execution had reached."""
    for event in reversed(history):
        details = event.get("stateExitedEventDetails")
        if details and details.get("output"):
            try:
                yield json.loads(details["output"])
            except json.JSONDecodeError:
                continue
