"""A deferred package's submodules import as usual; its own ``__init__`` runs at its first use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from embedded_engine.deferred_imports import defer_package_init

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def package(tmp_path, monkeypatch):
    folder = tmp_path / "heavy_pkg"
    folder.mkdir()
    (folder / "__init__.py").write_text(
        "import json\nLOADS = json.loads('[1]')\nfrom .models import backends\n"
    )
    (folder / "models.py").write_text("backends = {'loaded': True}\n")
    (folder / "utils.py").write_text("STATUS = 'ok'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "heavy_pkg"
    for name in [n for n in sys.modules if n == "heavy_pkg" or n.startswith("heavy_pkg.")]:
        del sys.modules[name]


def test_a_submodule_imports_without_the_package_init_and_the_init_runs_at_first_use(package):
    assert defer_package_init(package) is True

    from heavy_pkg.utils import STATUS  # noqa: PLC0415 - the import under test

    assert STATUS == "ok" and "heavy_pkg.models" not in sys.modules
    import heavy_pkg  # noqa: PLC0415

    assert heavy_pkg.backends == {"loaded": True} and heavy_pkg.LOADS == [1]
    assert "heavy_pkg.models" in sys.modules


def test_a_package_already_imported_or_missing_is_left_alone(package):
    import heavy_pkg  # noqa: PLC0415, F401

    assert defer_package_init(package) is False
    assert defer_package_init("no_such_package_anywhere") is False


def test_the_embedded_engine_runs_without_loading_services_it_does_not_use(tmp_path):
    probe = (
        "import json, sys\n"
        "from localrun.session import Session\n"
        "with Session() as session:\n"
        "    session.arm_faults([])\n"
        "    doc = session.run('calculate 2 + 2', use_memory=False)\n"
        "unused = ('moto.batch.models', 'moto.ec2.models', 'moto.awslambda.models', 'moto.ecr.models',\n"
        "          'moto.dynamodb.models', 'fastapi', 'uvicorn', 'mock_api.server')  # no Lambda in moto; no HTTP call\n"
        "print(json.dumps({'status': doc['status'], 'loaded': [m for m in unused if m in sys.modules]}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "MAOO_RUNTIME_DIR": str(tmp_path), "POWERTOOLS_TRACE_DISABLED": "true"},
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"status": "succeeded", "loaded": []}
