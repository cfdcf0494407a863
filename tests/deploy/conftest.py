"""Packaging once per test session: ``chalice package`` + the bound state machine, in a tmp folder.

The project is copied into the tmp folder first, so that chalice's build cache
(``.chalice/deployments/``) is not written into the work tree. Lambda wheels come from a
wheelhouse (``MAOO_WHEELHOUSE``, default ``~/.cache/maoo/wheelhouse``) filled from PyPI on the
first run only; packaging itself runs with no package index at all.

The npm validators (``tools/node/package.json``) are used from ``tools/node/node_modules`` when
someone ran ``npm ci --prefix tools/node``, else installed once with ``npm ci`` into
``~/.cache/maoo/node-<lock hash>``; without node or npm their tests skip and say so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.package import DEFAULT_WHEELHOUSE, PROJECT_DIR, PackagingError, ensure_wheelhouse, package

NODE_TOOLS = PROJECT_DIR / "tools" / "node"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "maoo"
PROJECT_FILES = (
    "app.py",
    "requirements.txt",
    "chalicelib",
    ".chalice/config.json",
    ".chalice/merge-template.json",
)


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


def _node_modules() -> Path:
    """A ``node_modules`` folder with tools/node's packages, installing them once if needed."""
    if (NODE_TOOLS / "node_modules").is_dir():
        return NODE_TOOLS / "node_modules"
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot install tools/node (asl-validator, dclint)")
    lock = NODE_TOOLS / "package-lock.json"
    prefix = CACHE_DIR / f"node-{hashlib.sha256(lock.read_bytes()).hexdigest()[:16]}"
    if not (prefix / ".installed").is_file():
        prefix.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(NODE_TOOLS / name, prefix / name)
        done = subprocess.run(
            [npm, "ci", "--prefix", str(prefix), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci for tools/node failed: {(done.stderr or done.stdout).strip()[-500:]}")
        (prefix / ".installed").write_text("ok\n")
    return prefix / "node_modules"


@pytest.fixture(scope="session")
def node_tool():
    """``node_tool("asl-validator")`` -> the command that runs that npm package's executable."""

    def command(package_name: str) -> list[str]:
        node = shutil.which("node")
        if node is None:
            pytest.skip(f"node is not installed: {package_name} (npm) cannot run")
        folder = _node_modules() / package_name
        manifest = json.loads((folder / "package.json").read_text())
        entry = manifest["bin"] if isinstance(manifest["bin"], str) else manifest["bin"][package_name]
        return [node, str(folder / entry)]

    return command
