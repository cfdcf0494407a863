"""LocalStack's Python runtime on the host: install it once, start it, stop it.

``localstack-core==2026.3.0`` (the last Apache-2.0 release) runs under Python 3.13 only, so it
gets its own virtualenv, installed from the pinned lock file
``localstack/requirements-runtime-2026.3.0.txt``. The venv (about 500 MB) lives outside the work
tree, in ``~/.cache/maoo/localstack-2026.3.0`` (``MAOO_LOCALSTACK_VENV`` to put it elsewhere,
e.g. ``.venv-localstack``): every clone on the machine reuses it and it can never be committed.
It is reused while the lock file, the version and the interpreter are unchanged (a stamp holds
their hash); anything else rebuilds it.

Standard library only, so that it runs before anything is installed::

    scripts/localstack_runtime.sh install | start [--port 4566] [--mock-config FILE] | status | stop

``start`` runs LocalStack in the background (pid and log under the venv), waits until it reports
ready, and returns; ``stop`` ends that process, and only that one. Tests use ``LocalStackRuntime``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOCALSTACK_VERSION = "2026.3.0"
LOCK_FILE = ROOT / "localstack" / f"requirements-runtime-{LOCALSTACK_VERSION}.txt"
DEFAULT_PORT = 4566
DEFAULT_SERVICES = "stepfunctions,iam,sts,lambda"
# what `python -m cli deploy --target localstack` needs: CloudFormation, and S3 for the code and the template
DEPLOY_SERVICES = "cloudformation,stepfunctions,iam,sts,lambda,s3,logs"
READY_TIMEOUT_SECONDS = 90.0
INSTALL_TIMEOUT_SECONDS = 900.0


class RuntimeUnavailable(RuntimeError):
    """LocalStack cannot run here; the message says why (tests skip with it)."""


def venv_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "maoo"
    return Path(
        os.environ.get("MAOO_LOCALSTACK_VENV") or cache / f"localstack-{LOCALSTACK_VERSION}"
    ).resolve()


def _runs(python: str) -> str | None:
    """The interpreter's ``major.minor`` if it starts, else None (a pyenv shim may not)."""
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_python313() -> str:
    """A working Python 3.13: ``MAOO_PYTHON313``, ``python3.13`` on PATH, or a pyenv install."""
    candidates = [os.environ.get("MAOO_PYTHON313", ""), shutil.which("python3.13") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += [str(p) for p in sorted(pyenv_root.glob("versions/3.13*/bin/python3.13"), reverse=True)]
    for candidate in filter(None, candidates):
        if _runs(candidate) == "3.13":
            return candidate
    raise RuntimeUnavailable(
        "no working Python 3.13 (LocalStack's runtime needs it); "
        "install one or set MAOO_PYTHON313=/path/to/python3.13"
    )


def _digest(python: str) -> str:
    if not LOCK_FILE.is_file():
        raise RuntimeUnavailable(f"the lock file {LOCK_FILE} is missing")
    key = hashlib.sha256(LOCK_FILE.read_bytes())
    key.update(f"localstack-core=={LOCALSTACK_VERSION}\n{os.path.realpath(python)}".encode())
    return key.hexdigest()


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


@contextmanager
def _install_lock(venv: Path) -> Iterator[None]:
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name.lstrip('.')}.install-lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_logged(command: list[str], log: Path, timeout: float) -> None:
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        try:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeUnavailable(
                f"{' '.join(command[:4])} ... took over {timeout:g} s; see {log}"
            ) from None
    if done.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:])
        raise RuntimeUnavailable(
            f"installing LocalStack failed (exit {done.returncode}); end of {log}:\n{tail}"
        )


def ensure_installed(venv: Path | None = None) -> Path:
    """The venv's python, installing LocalStack first unless the stamp says it is current."""
    venv = venv or venv_dir()
    python = find_python313()
    digest = _digest(python)
    stamp = venv / ".maoo-stamp"
    with _install_lock(venv):
        if stamp.is_file() and stamp.read_text().strip() == digest and _venv_python(venv).exists():
            return _venv_python(venv)
        if venv.exists():
            if any(venv.iterdir()) and not stamp.is_file():
                raise RuntimeUnavailable(
                    f"{venv} exists and was not made by this helper; "
                    "remove it or set MAOO_LOCALSTACK_VENV to another folder"
                )
            shutil.rmtree(venv)
        venv.mkdir(parents=True)
        log = venv / "install.log"
        _run_logged([python, "-m", "venv", str(venv)], log, 120)
        pip = [str(_venv_python(venv)), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
        _run_logged(
            pip + ["-r", str(LOCK_FILE), f"localstack-core=={LOCALSTACK_VERSION}"],
            log,
            INSTALL_TIMEOUT_SECONDS,
        )
        stamp.write_text(digest + "\n")
    return _venv_python(venv)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/init", timeout=1) as response:
            return bool(json.load(response).get("completed", {}).get("READY"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalStackRuntime:
    """One LocalStack process on ``127.0.0.1:<port>``, started by ``start`` and ended by ``stop``.

    Its files (state, logs, certificates) go to ``data_dir``; nothing is fetched from the network:
    DNS, certificate download and analytics are switched off, and only ``services`` are loaded,
    eagerly, so that the first API call does not pay for loading them.
    """

    def __init__(
        self,
        python: Path,
        data_dir: Path,
        *,
        port: int = DEFAULT_PORT,
        mock_config: Path | None = None,
        services: str = DEFAULT_SERVICES,
    ):
        self.python = python
        self.data_dir = Path(data_dir)
        self.port = port
        self.mock_config = mock_config
        self.services = services
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = self.data_dir / "localstack.log"
        self.process: subprocess.Popen | None = None
        self.ready_seconds: float | None = None

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALSTACK_", "SFN_"))}
        env.update(
            GATEWAY_LISTEN=f"127.0.0.1:{self.port}",
            OVERRIDE_IN_DOCKER="0",
            SERVICES=self.services,
            EAGER_SERVICE_LOADING="1",
            DNS_ADDRESS="0",
            SKIP_SSL_CERT_DOWNLOAD="1",
            DISABLE_EVENTS="1",
            FILESYSTEM_ROOT=str(self.data_dir / "filesystem"),
        )
        if self.mock_config is not None:
            env["SFN_MOCK_CONFIG"] = str(Path(self.mock_config).resolve())
        return env

    def start(self, timeout: float = READY_TIMEOUT_SECONDS, *, detach: bool = False) -> str:
        """Start and wait until ready. ``detach`` puts it in its own session, so that it outlives
        the shell that ran ``start`` (and a Ctrl+C there); tests leave it attached."""
        if _ready(self.url):
            raise RuntimeUnavailable(f"something already answers on {self.url}; choose another port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(self.python), "-m", "localstack.runtime.main"],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        while not _ready(self.url):
            if self.process.poll() is not None or time.monotonic() - began > timeout:
                self.stop()
                tail = "".join(self.log_path.read_text(errors="replace").splitlines(keepends=True)[-20:])
                raise RuntimeUnavailable(
                    f"LocalStack did not become ready on {self.url}; end of its log:\n{tail}"
                )
            time.sleep(0.1)
        self.ready_seconds = time.monotonic() - began
        return self.url

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (LocalStack shuts its services down), then SIGKILL after ``timeout``."""
        if self.process is None:
            return
        _terminate(self.process.pid, timeout, self.process)
        self.process = None

    def __enter__(self) -> LocalStackRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running_for_tests(
    folder: Path, mocks: dict[str, Any], services: str = DEFAULT_SERVICES
) -> Iterator[LocalStackRuntime]:
    """A LocalStack runtime for one test module, running ``services`` and answering Lambda tasks
    from ``mocks``; skips the module with the reason when the runtime cannot be had here, or when
    MAOO_LOCALSTACK_TESTS=0."""
    import pytest

    if os.environ.get("MAOO_LOCALSTACK_TESTS", "1").strip().lower() in ("0", "false", "no", "off"):
        pytest.skip("MAOO_LOCALSTACK_TESTS=0")
    try:
        python = ensure_installed()
    except RuntimeUnavailable as exc:
        pytest.skip(f"LocalStack's runtime is not available: {exc}")
    mock_file = folder / "sfn-mocks.json"
    mock_file.write_text(json.dumps(mocks, indent=2))
    runtime = LocalStackRuntime(python, folder, port=free_port(), mock_config=mock_file, services=services)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


def _terminate(pid: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    def gone() -> bool:
        if process is not None:
            return process.poll() is not None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if gone():
                return
            time.sleep(0.1)


# ---------------------------------------------------------------- command line


def _pid_file() -> Path:
    return venv_dir() / "run" / "localstack.pid"


def _cmd_install(args: argparse.Namespace) -> int:
    began = time.monotonic()
    python = ensure_installed()
    print(
        f"LocalStack {LOCALSTACK_VERSION} ready in {python.parent.parent} ({time.monotonic() - began:.1f} s)"
    )
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    if _pid_file().is_file():
        print(f"already started (pid {_pid_file().read_text().strip()}); run stop first", file=sys.stderr)
        return 1
    runtime = LocalStackRuntime(
        ensure_installed(),
        venv_dir() / "run",
        port=args.port,
        mock_config=args.mock_config,
        services=args.services,
    )
    runtime.start(detach=True)
    assert runtime.process is not None
    _pid_file().write_text(f"{runtime.process.pid}\n")
    print(
        f"LocalStack ready on {runtime.url} after {runtime.ready_seconds:.1f} s "
        f"(pid {runtime.process.pid}, log {runtime.log_path})"
    )
    print(
        f"endpoint: MAOO_LOCALSTACK_URL={runtime.url}. On the host it runs state machines whose Lambda "
        "Tasks are answered from --mock-config (SFN_MOCK_CONFIG); it cannot run the Python Lambdas themselves "
        "(for that, use localstack-compose.yml)."
    )
    return 0


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        done = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True)
        return done.stdout


def _cmd_stop(args: argparse.Namespace) -> int:
    pid_file = _pid_file()
    if not pid_file.is_file():
        print("not started")
        return 0
    pid = int(pid_file.read_text())
    if "localstack.runtime.main" in _command_line(pid):  # the pid may have been reused since
        _terminate(pid, 15.0)
        print("stopped")
    else:
        print(f"pid {pid} is no longer LocalStack; nothing to stop")
    pid_file.unlink()
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    url = f"http://127.0.0.1:{args.port}"
    ready = _ready(url)
    print(f"{url}: {'ready' if ready else 'not answering'}")
    return 0 if ready else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/localstack_runtime.sh", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="create or reuse the Python 3.13 venv").set_defaults(run=_cmd_install)
    start = commands.add_parser("start", help="start in the background and wait until ready")
    start.add_argument("--port", type=int, default=DEFAULT_PORT)
    start.add_argument("--mock-config", type=Path, help="an SFN_MOCK_CONFIG file for mocked Task states")
    start.add_argument("--services", default=DEPLOY_SERVICES)
    start.set_defaults(run=_cmd_start)
    commands.add_parser("stop", help="stop what start started").set_defaults(run=_cmd_stop)
    status = commands.add_parser("status", help="is LocalStack answering?")
    status.add_argument("--port", type=int, default=DEFAULT_PORT)
    status.set_defaults(run=_cmd_status)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except RuntimeUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
