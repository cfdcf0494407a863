"""Package MAOO for AWS: ``python -m deploy package --stage prod --out out/``.

``chalice package`` writes ``out/sam.json`` (one ``AWS::Serverless::Function`` per
``@app.lambda_function``, logical id = the name in CamelCase) and ``out/deployment.zip``;
``.chalice/merge-template.json`` adds the DynamoDB tables, one IAM role per kind of function, and
the state machine resource. Chalice cannot read the ASL file, so ``package`` then sets the state
machine's ``Definition`` to ``chalicelib/statemachine/maoo.asl.json`` as it is, and binds every
``${XxxFunctionArn}`` placeholder through ``DefinitionSubstitutions`` to ``Fn::GetAtt [Xxx, Arn]``.
The ASL text itself is never edited. Last, two parameters (``deploy/template_conditions.py``) let a
target that cannot run DynamoDB or Python Lambdas leave them out of this same template, and the
REST API gets the request and response models of ``chalicelib/http_contract.py`` (``deploy/api_models.py``).

Offline packaging: chalice downloads Lambda-compatible wheels with pip. ``wheels`` fills a
wheelhouse once (PyPI needed then; default ``~/.cache/maoo/wheelhouse``, outside the work tree so
it is shared by clones and never committed); ``package --wheelhouse DIR`` then builds without any
package index. Deploy the result with ``aws cloudformation package`` / ``deploy`` (or ``sam deploy``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from chalicelib.errors import MaooError
from chalicelib.workflow.definition import load_definition, placeholders
from deploy.api_models import with_models
from deploy.template_conditions import ConditionError, add_conditions

PROJECT_DIR = Path(__file__).resolve().parent.parent
MERGE_TEMPLATE = Path(".chalice") / "merge-template.json"
STATE_MACHINE_ID = "MaooStateMachine"
DEFAULT_WHEELHOUSE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "maoo" / "wheelhouse"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
LAMBDA_PYTHON = "3.11"
_STAMP = ".requirements.sha256"
_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Package MAOO for AWS (chalice package + the state machine).",
)


class PackagingError(MaooError, RuntimeError):
    """``chalice package`` failed, or its template cannot carry the state machine."""


def logical_id(function_name: str) -> str:
    """The logical id chalice gives a function: ``tool_http_get`` -> ``ToolHttpGet``."""
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(function_name)


def bind_definition(template: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` whose state machine carries ``definition`` and its substitutions.

    A placeholder ``${XxxFunctionArn}`` is bound to ``Fn::GetAtt [Xxx, Arn]``; ``Xxx`` must be a
    function of the template, else ``PackagingError`` names what is missing.
    """
    resources = template.get("Resources", {})
    machine = resources.get(STATE_MACHINE_ID)
    if not machine or machine.get("Type") != "AWS::StepFunctions::StateMachine":
        raise PackagingError(
            f"{MERGE_TEMPLATE} must declare {STATE_MACHINE_ID} as an AWS::StepFunctions::StateMachine"
        )
    substitutions: dict[str, Any] = {}
    missing = []
    for name in sorted(placeholders(definition)):
        target = name.removesuffix("FunctionArn")
        if resources.get(target, {}).get("Type") not in _FUNCTION_TYPES:
            missing.append(f"${{{name}}} -> {target}")
        substitutions[name] = {"Fn::GetAtt": [target, "Arn"]}
    if missing:
        raise PackagingError(
            "no function in the template for: "
            + ", ".join(missing)
            + "; declare it in app.py with @app.lambda_function"
        )
    bound = copy.deepcopy(template)
    properties = bound["Resources"][STATE_MACHINE_ID].setdefault("Properties", {})
    for key in ("DefinitionString", "DefinitionS3Location", "DefinitionUri"):
        properties.pop(key, None)
    properties["Definition"] = copy.deepcopy(definition)
    properties["DefinitionSubstitutions"] = substitutions
    return bound


def unbound_roles(template: dict[str, Any]) -> list[str]:
    """Functions whose ``Role`` is still the literal ARN from config.json, not one of the template's roles."""
    return sorted(
        resource_id
        for resource_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") in _FUNCTION_TYPES
        and not isinstance(resource.get("Properties", {}).get("Role"), dict)
    )


def _chalice_package(stage: str, out_dir: Path, project_dir: Path, env: dict[str, str]) -> None:
    command = [
        sys.executable,
        "-c",
        "import sys; from chalice.cli import main; sys.exit(main())",
        "package",
        "--stage",
        stage,
        "--pkg-format",
        "cloudformation",
        "--merge-template",
        str(MERGE_TEMPLATE),
        str(out_dir),
    ]
    done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise PackagingError(f"chalice package --stage {stage} failed (exit {done.returncode}):\n{detail}")


def package(
    stage: str,
    out_dir: str | Path,
    *,
    project_dir: str | Path = PROJECT_DIR,
    wheelhouse: str | Path | None = None,
) -> Path:
    """Package ``stage`` into ``out_dir``; returns the path of the finished ``sam.json``.

    With ``wheelhouse``, pip reads wheels only from that folder (no index): packaging is offline.
    """
    project = Path(project_dir).resolve()
    out = Path(out_dir).resolve()
    env = dict(os.environ)
    # chalice refuses to package without a region, yet writes none into the template (${AWS::Region})
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    if wheelhouse is not None:
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(Path(wheelhouse).resolve()))
    _chalice_package(stage, out, project, env)

    template_path = out / "sam.json"
    template = json.loads(template_path.read_text(encoding="utf-8"))
    untyped = sorted(rid for rid, resource in template.get("Resources", {}).items() if "Type" not in resource)
    if untyped:
        raise PackagingError(
            f"{MERGE_TEMPLATE} patches {', '.join(untyped)}, which chalice did not generate "
            "for this app; remove the patch"
        )
    loose = unbound_roles(template)
    if loose:
        raise PackagingError(
            f"no role for {', '.join(loose)} in {MERGE_TEMPLATE}: give each function "
            '"Properties": {"Role": {"Fn::GetAtt": [<a role>, "Arn"]}}'
        )
    bound = with_models(bind_definition(template, load_definition()))
    try:
        bound = add_conditions(bound)
    except ConditionError as exc:
        raise PackagingError(str(exc)) from None
    template_path.write_text(json.dumps(bound, indent=2) + "\n", encoding="utf-8")
    return template_path


def _requirements_digest(requirements: Path) -> str:
    key = f"{LAMBDA_PLATFORM}:{LAMBDA_PYTHON}:".encode() + requirements.read_bytes()
    return hashlib.sha256(key).hexdigest()


def wheelhouse_is_current(folder: str | Path, *, project_dir: str | Path = PROJECT_DIR) -> bool:
    """Whether ``folder`` holds the wheels of the current ``requirements.txt``."""
    stamp = Path(folder) / _STAMP
    digest = _requirements_digest(Path(project_dir).resolve() / "requirements.txt")
    return stamp.is_file() and stamp.read_text().strip() == digest


def ensure_wheelhouse(
    dest: str | Path = DEFAULT_WHEELHOUSE, *, project_dir: str | Path = PROJECT_DIR
) -> Path:
    """Download Lambda wheels for ``requirements.txt`` into ``dest`` unless they are already there.

    The folder is reused while ``requirements.txt`` is unchanged (a stamp holds its hash); the
    download needs PyPI, later packaging does not. Raises ``PackagingError`` when pip fails.
    """
    folder = Path(dest).resolve()
    requirements = Path(project_dir).resolve() / "requirements.txt"
    if wheelhouse_is_current(folder, project_dir=project_dir):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        str(requirements),
        "--dest",
        str(folder),
        "--only-binary=:all:",
        "--platform",
        LAMBDA_PLATFORM,
        "--python-version",
        LAMBDA_PYTHON,
        "--implementation",
        "cp",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise PackagingError(
            f"pip could not download the Lambda wheels:\n{(done.stderr or done.stdout).strip()[-2000:]}"
        )
    (folder / _STAMP).write_text(_requirements_digest(requirements) + "\n")
    return folder


@cli.command("package")
def package_command(
    stage: str = typer.Option("prod", help="The chalice stage to package (.chalice/config.json)."),
    out: Path = typer.Option(Path("out"), help="Folder for sam.json and deployment.zip."),
    wheelhouse: Path | None = typer.Option(
        None,
        envvar="MAOO_WHEELHOUSE",
        help="Build from the wheels in this folder only (offline). Default: the `wheels` folder when it is current, else PyPI.",
    ),
) -> None:
    """Run chalice package and bind the state machine definition into the template."""
    if wheelhouse is None and wheelhouse_is_current(DEFAULT_WHEELHOUSE):
        wheelhouse = DEFAULT_WHEELHOUSE
    typer.echo(f"Lambda wheels from {wheelhouse or 'PyPI'}")
    try:
        template = package(stage, out, wheelhouse=wheelhouse)
    except PackagingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {template} and {template.parent / 'deployment.zip'}")


@cli.command("wheels")
def wheels_command(
    dest: Path = typer.Option(DEFAULT_WHEELHOUSE, envvar="MAOO_WHEELHOUSE", help="Wheelhouse folder."),
) -> None:
    """Download the Lambda (manylinux, CPython 3.11) wheels for requirements.txt, once."""
    try:
        folder = ensure_wheelhouse(dest)
    except PackagingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wheels for requirements.txt are in {folder}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
