"""Test-only hooks for the crash drills; inert unless a test sets their variable.

- ``MAOO_TEST_CRASH_AT=State[#n][:after]`` hard-exits the process (``os._exit``, as ``kill -9``
  would: nothing is flushed, no ``finally`` runs) inside the handler of the n-th entry of
  ``State`` (default the first) in this process: before the state runs, or with ``:after``,
  once it ran but before its checkpoint is written; with ``:applied`` (a write tool's state), once
  the tool made its effect but before its idempotency record says so.
- ``MAOO_TEST_HOLD_AT=State[#n][:after]`` stops the process at the same point instead: it writes
  the file ``MAOO_TEST_HOLD_MARKER`` names and sleeps, so a test can ``SIGKILL`` it there (a point
  that lasts microseconds, such as between ``file_write``'s rename and its result's checkpoint).
- ``MAOO_TEST_STORE_FAIL_AT=State[#n]`` makes the run store read-only for the rest of the process
  just before that state's checkpoint, as a disk that filled up would.

These variables are read here only and set only by the tests' subprocesses.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

CRASH_VAR = "MAOO_TEST_CRASH_AT"
STORE_FAIL_VAR = "MAOO_TEST_STORE_FAIL_AT"
HOLD_VAR = "MAOO_TEST_HOLD_AT"
HOLD_MARKER_VAR = "MAOO_TEST_HOLD_MARKER"
CRASH_EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL

_entries: dict[str, int] = {}
_lock = threading.Lock()


def _parse(spec: str) -> tuple[str, int, str]:
    target, _, phase = spec.partition(":")
    name, _, nth = target.partition("#")
    return name.strip(), int(nth) if nth.strip().isdigit() else 1, (phase.strip() or "before")


def entered(state_name: str) -> int:
    """Count an entry of ``state_name`` in this process; returns which entry it is (1-based)."""
    with _lock:
        _entries[state_name] = _entries.get(state_name, 0) + 1
        return _entries[state_name]


def crash_point(state_name: str, entry: int, phase: str) -> None:
    """Exit the process hard (or hold it for a kill) if a drill names this state, entry and phase."""
    spec = os.environ.get(CRASH_VAR)
    if spec and _parse(spec) == (state_name, entry, phase):
        os._exit(CRASH_EXIT_CODE)
    held = os.environ.get(HOLD_VAR)
    if held and _parse(held) == (state_name, entry, phase):
        Path(os.environ[HOLD_MARKER_VAR]).write_text(f"{os.getpid()}\n", encoding="ascii")
        while True:  # until the drill kills this process
            time.sleep(60)


def tool_applied(tool: str) -> None:
    """The ``:applied`` point of a write tool's call (see ``crash_point``)."""
    state_name = "Call" + "".join(part.capitalize() for part in tool.split("_"))
    with _lock:
        entry = _entries.get(state_name, 1)
    crash_point(state_name, entry, "applied")


def store_fails_at(state_name: str, entry: int) -> bool:
    """Whether the store-failure drill names this state's checkpoint."""
    spec = os.environ.get(STORE_FAIL_VAR)
    return spec is not None and _parse(spec)[:2] == (state_name, entry)
