"""The embedded engine sits outside the Lambda package: chalicelib never imports it, runs without
it refuse the embedded engine clearly, and the engine refuses a moto it was not written for."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import embedded_engine
from chalicelib.config import reload_settings
from chalicelib.errors import MaooError, WorkflowError
from chalicelib.workflow.engines import open_runner
from cli.main import app
from embedded_engine import MotoVersionError, check_moto_version

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_chalicelib_never_imports_the_embedded_engine_nor_moto():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in _imported_modules(path) if n.split(".")[0] in {"embedded_engine", "moto"}
        )
        for path in (ROOT / "chalicelib").rglob("*.py")
    }

    assert {path: names for path, names in offenders.items() if names} == {}


def test_a_run_without_an_embedded_factory_is_refused_with_what_to_do():
    with pytest.raises(WorkflowError, match="not part of the Lambda package.*MAOO_ENGINE=localstack or aws"):
        open_runner(reload_settings(), dict)


def test_the_installed_moto_is_the_pinned_one():
    pins = (ROOT / "pyproject.toml").read_text(encoding="utf-8")

    assert check_moto_version() == embedded_engine.MOTO_VERSION
    assert f']=={embedded_engine.MOTO_VERSION}"' in pins


def test_another_moto_version_is_an_error_naming_both_versions_and_the_fix():
    with pytest.raises(MotoVersionError) as raised:
        check_moto_version("5.3.0")

    message = str(raised.value)
    assert isinstance(raised.value, MaooError)
    assert "moto==5.2.5" in message and "moto 5.3.0 is installed" in message and "pip install" in message


def test_cli_run_on_another_moto_exits_2_with_the_message_and_no_traceback(monkeypatch):
    monkeypatch.setattr("embedded_engine.moto_version.MOTO_VERSION", "0.0.1")
    monkeypatch.setenv(
        "MAOO_MOCK_API_URL", "http://127.0.0.1:9"
    )  # no mock API needed: the engine refuses first
    embedded_engine.reset_embedded_engine()
    try:
        result = CliRunner().invoke(app, ["run", "--request", "calculate 2 + 2", "--json"])
    finally:
        embedded_engine.reset_embedded_engine()

    assert result.exit_code == 2, result.output
    assert "needs moto==0.0.1" in result.output and "Traceback" not in result.output
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout or "")
