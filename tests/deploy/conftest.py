"""Packaging once per test session: ``chalice package`` + the bound state machine, in a tmp folder.

The project is copied into the tmp folder first, so that chalice's build cache
(``.chalice/deployments/``) is not written into the work tree. Lambda wheels come from a
wheelhouse (``MAOO_WHEELHOUSE``, default ``.chalice/wheelhouse/``) filled from PyPI on the first
run only; packaging itself runs with no package index at all.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.deploy import DEFAULT_WHEELHOUSE, PROJECT_DIR, PackagingError, ensure_wheelhouse, package

NODE_TOOLS = PROJECT_DIR / "tools" / "node"
PROJECT_FILES = ("app.py", "requirements.txt", "chalicelib", ".chalice/config.json", ".chalice/merge-template.json")


def pytest_configure(config):
    config.addinivalue_line("markers", "deploy: packages the app for AWS and validates the template")


@dataclass
class Packaged:
    template_path: Path
    template: dict[str, Any]
    seconds: float

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]

    def functions(self) -> dict[str, dict[str, Any]]:
        return {rid: r for rid, r in self.resources.items() if r["Type"] == "AWS::Serverless::Function"}


def copy_project(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    return dest


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> Packaged:
    try:
        wheelhouse = ensure_wheelhouse(os.environ.get("MAOO_WHEELHOUSE") or DEFAULT_WHEELHOUSE)
    except PackagingError as exc:
        pytest.skip(f"no Lambda wheels: the wheelhouse is empty and PyPI cannot be reached: {exc}")
    project = copy_project(tmp_path_factory.mktemp("project"))
    began = time.monotonic()
    template_path = package("prod", project / "out", project_dir=project, wheelhouse=wheelhouse)
    seconds = time.monotonic() - began
    return Packaged(template_path, json.loads(template_path.read_text()), seconds)
