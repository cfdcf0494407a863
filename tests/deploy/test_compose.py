"""``localstack-compose.yml`` and the ``Dockerfile`` say what the README promises.

``docker compose config`` is the real check (it needs the docker CLI and its compose plugin, or a
standalone Compose v2, not a running engine); dclint validates the file against the Compose
schema as well, so the file is checked where Compose is absent too.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from deploy.package import PROJECT_DIR

pytestmark = pytest.mark.deploy

COMPOSE_FILE = PROJECT_DIR / "localstack-compose.yml"


def _compose_command() -> list[str]:
    """``docker compose`` (the CLI plugin), else a standalone Compose v2 ``docker-compose``."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60).returncode == 0
    ):
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        version = subprocess.run(
            [standalone, "version", "--short"], capture_output=True, text=True, timeout=60
        )
        if version.returncode == 0 and version.stdout.strip().lstrip("v").startswith("2."):
            return [standalone]
    pytest.skip(
        "neither `docker compose` (the docker CLI's compose plugin) nor a Compose v2 `docker-compose` is installed"
    )


def _compose_config() -> dict:
    done = subprocess.run(
        _compose_command() + ["-f", str(COMPOSE_FILE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_DIR,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_docker_compose_accepts_the_file_and_the_app_reaches_the_mock_api_by_ip():
    config = _compose_config()

    services = config["services"]
    assert services["localstack"]["image"] == "localstack/localstack:4.14.0"
    assert services["app"]["depends_on"]["mock-api"]["condition"] == "service_healthy"
    mock_ip = services["mock-api"]["networks"]["maoo"]["ipv4_address"]
    assert services["app"]["environment"]["MAOO_MOCK_API_URL"] == f"http://{mock_ip}:8765"


def _dclint(node_tool, path, cwd) -> subprocess.CompletedProcess:
    command = node_tool("dclint") + ["--quiet", "--color", "false", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_compose_file_matches_the_compose_schema(node_tool, tmp_path):
    broken = tmp_path / "broken-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace("    build: .\n", "    build: .\n    imagee: typo\n", 1)
    )

    done = _dclint(node_tool, COMPOSE_FILE, tmp_path)
    rejected = _dclint(node_tool, broken, tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert rejected.returncode != 0 and "invalid-schema" in rejected.stdout


def test_dockerfile_runs_the_happy_demo_as_a_non_root_user():
    lines = [line.strip() for line in (PROJECT_DIR / "Dockerfile").read_text().splitlines()]

    assert "FROM python:3.11-slim" in lines
    assert 'CMD ["python", "-m", "cli", "demo", "happy"]' in lines
    assert any(line.startswith("USER ") and line != "USER root" for line in lines)


def test_the_image_holds_every_package_the_cli_imports():
    copied = {
        line.split()[1]
        for line in (PROJECT_DIR / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and not line.startswith("COPY --")
    }

    assert {"chalicelib", "embedded_engine", "localrun", "cli", "deploy", "mock_api", "eval"} <= copied
