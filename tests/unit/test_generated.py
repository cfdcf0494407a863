"""A tool is declared once: the files derived from the registry are generated, current and complete.

The last test walks through docs/guides/add-a-tool.md with a dummy write tool, ``pagerduty_page``:
its module's ``SPEC`` plus the generated diff is all it takes for it to be routed, deployed with
the right role and called through its own Lambda handler.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

import app
from chalicelib.contracts import PerceivedState, Plan, Step, ToolCall, ToolResult
from chalicelib.planning import policy
from chalicelib.tools import registry
from chalicelib.tools.base import LambdaSettings, ToolArgs, ToolContext, ToolSpec
from chalicelib.tools.names import TOOL_NAMES
from chalicelib.tools.registry import TOOLS
from chalicelib.workflow.definition import load_definition, placeholders
from deploy import generate
from embedded_engine import LambdaContext

GENERATED = (generate.STATE_MACHINE, generate.CHALICE_CONFIG, generate.MERGE_TEMPLATE, generate.NAMES_MODULE)
INPUTS = (generate.SOURCE, *GENERATED)


def _copy_of_the_project(tmp_path: Path) -> Path:
    """The generator's inputs and outputs, copied: a test may change them without touching the repo."""
    root = tmp_path / "project"
    for path in INPUTS:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(generate.ROOT / path, root / path)
    return root


def test_the_committed_files_are_what_the_registry_generates():
    assert generate.stale(list(TOOLS.values())) == [], "run 'make generate' and commit the result"


def test_every_registered_tool_has_a_router_branch_a_state_and_a_function():
    definition = load_definition()

    assert generate.routed_tools(definition) == set(TOOLS)
    assert tuple(TOOLS) == TOOL_NAMES
    assert {f"{generate.logical_id(tool)}FunctionArn" for tool in TOOLS} <= placeholders(definition)
    assert {f"tool_{tool}" for tool in TOOLS} <= {f.name for f in app.app.pure_lambda_functions}


def test_the_check_names_the_stale_file_and_what_to_run(tmp_path, monkeypatch, capsys):
    # given a generated file edited by hand (a tool's branch deleted from the state machine)
    root = _copy_of_the_project(tmp_path)
    machine = json.loads((root / generate.STATE_MACHINE).read_text())
    machine["States"]["Route"]["Choices"].pop()
    (root / generate.STATE_MACHINE).write_text(json.dumps(machine, indent=2) + "\n")
    monkeypatch.setattr(generate, "ROOT", root)

    # when the gate runs
    status = generate.main(["--check"])

    # then it fails, naming the file and the command that fixes it
    err = capsys.readouterr().err
    assert status == 1
    assert str(generate.STATE_MACHINE) in err and "make generate" in err
    assert generate.routed_tools(machine) == set(TOOLS) - {list(TOOLS)[-1]}


def test_generating_again_changes_nothing():
    tools = list(TOOLS.values())
    once = generate.generate(tools)
    assert generate.stale(tools) == []
    assert once == generate.generate(tools)


def test_a_tool_state_written_into_the_source_is_refused_with_the_reason(tmp_path):
    root = _copy_of_the_project(tmp_path)
    source = json.loads((root / generate.SOURCE).read_text())
    source["States"]["CallCalc"] = {"Type": "Pass", "Next": "Observe"}
    (root / generate.SOURCE).write_text(json.dumps(source))

    with pytest.raises(generate.GenerateError, match="CallCalc: a tool's state is generated"):
        generate.generate(list(TOOLS.values()), root)


def test_a_tool_name_that_cannot_name_a_function_is_refused():
    bad = ToolSpec(name="Page-Duty", description="", args_model=ToolArgs, side_effect="read", cost=1, run=len)
    with pytest.raises(generate.GenerateError, match="'Page-Duty' is not snake case"):
        generate.generate([*TOOLS.values(), bad])


# ---- the walk-through: add a write tool


class PagerdutyPageArgs(ToolArgs):
    service: str = Field(min_length=1, max_length=64)
    message: str = Field(min_length=1, max_length=500)


def _page(args: PagerdutyPageArgs, ctx: ToolContext) -> dict[str, Any]:
    return {"paged": args.service, "key": ctx.idempotency_key}


def _service_must_be_known(args: dict[str, Any]) -> None:
    from chalicelib.tools.base import ToolFailure

    if args.get("service") not in ("payments", "search"):
        raise ToolFailure(
            "policy_denied", "only payments and search can be paged", details={"rule": "page.service"}
        )


PAGERDUTY_PAGE = ToolSpec(
    name="pagerduty_page",
    description="Page the on-call person of a service.",
    args_model=PagerdutyPageArgs,
    side_effect="write-idempotent",
    cost=3.0,
    run=_page,
    lambda_settings=LambdaSettings(timeout=12, memory_mb=384),
    max_calls_per_plan=1,
    check_args=_service_must_be_known,
)


def test_adding_a_tool_is_its_declaration_plus_the_generated_diff(tmp_path, monkeypatch):
    root = _copy_of_the_project(tmp_path)
    before = {path: json.loads((root / path).read_text()) for path in GENERATED if path.suffix == ".json"}

    # when the tool's SPEC is registered and the files are generated
    changed = generate.write([*TOOLS.values(), PAGERDUTY_PAGE], root)
    after = {path: json.loads((root / path).read_text()) for path in before}

    # then every generated file changed, and only by the new tool's pieces
    assert sorted(changed) == sorted(GENERATED)
    machine = after[generate.STATE_MACHINE]
    assert machine["States"]["Route"]["Choices"][-1] == generate.tool_branch("pagerduty_page")
    assert "pagerduty_page" in generate.routed_tools(machine)
    state = machine["States"].pop("CallPagerdutyPage")
    assert state["Parameters"]["FunctionName"] == "${ToolPagerdutyPageFunctionArn}"
    assert state["Next"] == "Observe" and "tests/unit/test_generated.py" in state["Comment"]
    machine["States"]["Route"]["Choices"].pop()
    assert machine == before[generate.STATE_MACHINE]

    config = after[generate.CHALICE_CONFIG]
    assert config["lambda_functions"].pop("tool_pagerduty_page") == {
        "lambda_timeout": 12,
        "lambda_memory_size": 384,
    }
    assert config["stages"]["localstack"]["lambda_functions"].pop("tool_pagerduty_page") == {
        "environment_variables": {
            "MAOO_RUNS_TABLE": "maoo-localstack-runs",
            "MAOO_IDEMPOTENCY_TABLE": "maoo-localstack-idempotency",
        }
    }
    assert config == before[generate.CHALICE_CONFIG]

    resources = after[generate.MERGE_TEMPLATE]["Resources"]
    piece = resources["ToolPagerdutyPage"]["Properties"]
    assert piece["Role"] == {"Fn::GetAtt": ["WriteToolRole", "Arn"]}
    assert piece["Environment"]["Variables"]["MAOO_IDEMPOTENCY_TABLE"] == {"Ref": "IdempotencyTable"}
    assert "pagerduty_page" in resources["WriteToolRole"]["Properties"]["Description"]
    invoke = resources["StateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert invoke["Resource"][-1] == {"Fn::GetAtt": ["ToolPagerdutyPage", "Arn"]}
    assert '    "pagerduty_page",\n' in (root / generate.NAMES_MODULE).read_text()

    # and, registered, the tool is planned under its policy and runs through its own Lambda handler
    monkeypatch.setitem(registry.TOOLS, "pagerduty_page", PAGERDUTY_PAGE)
    pages = [
        Step(id="s1", tool="pagerduty_page", args={"service": "payments", "message": "a"}),
        Step(id="s2", tool="pagerduty_page", args={"service": "billing", "message": "b"}),
    ]
    denials = policy.check_plan(Plan(steps=pages), PerceivedState(intent="page", task_type="multi_step"))
    assert [(d.step_id, d.rule) for d in denials] == [("s2", "page.service"), ("s2", "tool.limit")]
    handler = app.tool_handler("pagerduty_page")
    call = ToolCall(
        run_id="run-page",
        step_id="s1",
        tool="pagerduty_page",
        args={"service": "payments", "message": "error rate above 5 %"},
        idempotency_key="run-page:s1:abc",
    )
    answer = ToolResult.model_validate(
        handler(
            call.model_dump(mode="json"),
            LambdaContext(function_name="tool_pagerduty_page", aws_request_id="t"),
        )
    )
    assert answer.ok is True and answer.output == {"paged": "payments", "key": "run-page:s1:abc"}
