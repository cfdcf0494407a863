"""The in-process mock API, started only when something connects to it.

Starting the mock API (importing FastAPI and uvicorn, building the app, starting the server) took
about 0.6 s of every cold ``python -m cli run``, even for a request that calls no HTTP tool. Here
the loopback port is bound and listening at once, so its address is known before the run starts
and is the one origin allowlisted, exactly as before; a watcher thread blocks in ``select`` on
the socket (it takes no CPU and holds no lock while it waits) and starts the server when the first
connection arrives. That connection waits in the socket's queue meanwhile and is answered once
the server is up. A run that makes no HTTP call never imports the mock API at all.

A caller that knows a run will call the mock API (``localrun.session`` foresees it from the request's
plan) starts it ahead with ``start_beside()``: a child process (``mock_api.child``) serves the same
socket, so its 0.5 s of imports and start run on another core while this process starts the
engine. The child ends when this process closes the pipe to it or dies, ``kill -9`` included. If
the child cannot serve (it ended before it was stopped), the server starts here as before.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

_STOP_SECONDS = 5.0
_PORT_FREED_SECONDS = 2.0  # a child of a process that just died lets its port go within milliseconds
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_stopping: list[threading.Thread] = []  # stops not waited for (``stop(wait=False)``) still running


class MockApiOnDemand:
    """A loopback address that serves the mock API from its first connection on."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind ``port`` (0: a free one); an ``OSError`` if it is taken.

        A given port is how a run continued in a new process gets the origin it was planned
        against back (``localrun.mock_origin``)."""
        if port:  # a port an earlier server of this process may still be letting go of
            for stopping in list(_stopping):
                stopping.join(_STOP_SECONDS)
        _stopping[:] = [stopping for stopping in _stopping if stopping.is_alive()]
        self._sock = _listen(host, port)
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        self._listening = self._sock.fileno()
        self._running: Any = None  # mock_api.server.RunningMockApi once started
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        self._closed = False
        self._watcher = threading.Thread(target=self._watch, name="mock-api-on-demand", daemon=True)
        self._watcher.start()

    def start_ahead(self) -> None:
        """Start serving now, without waiting: from a child process on a cold start, since the imports
        are what costs; here when this process has imported the mock API already."""
        if "mock_api.server" in sys.modules:
            self._start()
        else:
            self.start_beside()

    def start_beside(self) -> None:
        """Start serving now from a child process, without waiting for it (see the module's docstring)."""
        with self._lock:
            if self._running is not None or self._closed:
                return
            child = self._running = _ChildServer(self._sock)
        os.write(self._wake_write, b"x")  # the watcher's job is done: the child accepts from now on
        threading.Thread(target=self._fall_back, args=(child,), name="mock-api-child", daemon=True).start()

    def _fall_back(self, child: _ChildServer) -> None:
        """Serve from this process if the child ends before it is stopped."""
        child.wait()
        with self._lock:
            if self._running is not child or self._closed:
                return
            self._running = None
        self._start()

    @property
    def started(self) -> bool:
        return self._running is not None

    def _watch(self) -> None:
        try:
            readable, _, _ = select.select([self._listening, self._wake_read], [], [])
        except (OSError, ValueError):  # closed under us: stop() ran
            return
        if self._listening in readable:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._running is None and not self._closed:
                from mock_api.server import serve_bound_socket

                self._running = serve_bound_socket(self._sock, self.url)

    def ensure_started(self, timeout: float = 10.0) -> None:
        """Start the server now (if it is not up) and wait until it answers /health."""
        self._start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mock API on {self.url} did not answer /health within {timeout:g}s")
            time.sleep(0.02)

    def stop(self, wait: bool = True) -> None:
        """Stop serving and release the port; a server never started has nothing to stop.

        ``wait=False`` is for a process about to end: the same stop runs in a daemon thread, not
        waited for (uvicorn notices at its next tick, up to 0.1 s, then winds down its connections:
        about 0.2 s of every command that started it). If the process goes on, it finishes there;
        if it ends, the port is released with it. A child process is always waited for: it ends within
        milliseconds of its pipe closing, and the port is then free when the command returns."""
        with self._lock:
            self._closed = True
            running, self._running = self._running, None
        os.write(self._wake_write, b"x")
        if running is not None and not wait and not isinstance(running, _ChildServer):
            stopping = threading.Thread(
                target=self._release, args=(running,), name="mock-api-stop", daemon=True
            )
            _stopping.append(stopping)
            stopping.start()
            return
        self._release(running)

    def _release(self, running: Any) -> None:
        self._watcher.join(_STOP_SECONDS)
        os.close(self._wake_read)
        os.close(self._wake_write)
        if running is not None:
            running.stop()
        self._sock.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a given port still held by a dying process is waited for briefly."""
    deadline = time.monotonic() + (_PORT_FREED_SECONDS if port else 0.0)
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.05)


class _ChildServer:
    """The mock API served from a child process on this process's listening socket."""

    def __init__(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mock_api.child", str(fd)],
            cwd=_PROJECT_ROOT,
            stdin=subprocess.PIPE,  # its end of file is the child's signal to stop
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # a child that fails is replaced by a server here, which reports
            pass_fds=(fd,),
            start_new_session=True,  # Ctrl+C in the terminal reaches the CLI, which then stops the child
        )

    def wait(self) -> None:
        self._process.wait()

    def stop(self, timeout: float = _STOP_SECONDS) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
