"""``file_write``: write a text file under the sandbox folder, atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from pydantic import Field

from chalicelib.config import get_settings
from chalicelib.tools.base import ToolArgs, ToolContext, ToolFailure, ToolSpec

MAX_BYTES = 1_000_000
ALLOWED_SUFFIXES = (".md", ".txt", ".json", ".csv", ".log")
_DEVICE_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class FileWriteArgs(ToolArgs):
    path: str = Field(min_length=1, max_length=255, description="Relative path under the sandbox, e.g. 'reports/incidents.md'")
    content: str = Field(max_length=MAX_BYTES)
    overwrite: bool = False


def _deny(rule: str, message: str) -> ToolFailure:
    return ToolFailure("policy_denied", message, details={"rule": rule})


def sandbox_path(relative: str) -> Path:
    """Resolve a relative path inside the sandbox, or raise a ``policy_denied`` failure."""
    if "\x00" in relative or "\\" in relative:
        raise _deny("file.path_syntax", f"path {relative!r} contains a NUL or a backslash")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or relative.startswith("~"):
        raise _deny("file.absolute", f"path {relative!r} is absolute; give a path relative to the sandbox")
    if any(part in ("..", ".") for part in pure.parts) or not pure.parts:
        raise _deny("file.traversal", f"path {relative!r} leaves or names the sandbox folder itself")
    if any(part.split(".")[0].lower() in _DEVICE_NAMES for part in pure.parts):
        raise _deny("file.device_name", f"path {relative!r} uses a reserved device name")
    if pure.suffix.lower() not in ALLOWED_SUFFIXES:
        raise _deny("file.extension", f"path {relative!r} has extension {pure.suffix or '(none)'!r}; allowed: {', '.join(ALLOWED_SUFFIXES)}")
    root = get_settings().files_dir
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    target = (root / pure).resolve()
    if not target.is_relative_to(root):
        raise _deny("file.symlink_escape", f"path {relative!r} resolves outside the sandbox")
    return target


def run(args: FileWriteArgs, ctx: ToolContext) -> dict:
    target = sandbox_path(args.path)
    data = args.content.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise _deny("file.size", f"content is {len(data)} bytes; at most {MAX_BYTES} allowed")
    if target.exists():
        if target.read_bytes() == data:
            return {"path": args.path, "bytes": len(data), "replayed": True}
        if not args.overwrite:
            raise _deny("file.no_overwrite", f"{args.path} exists with other content; set overwrite to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"path": args.path, "bytes": len(data), "replayed": False}


SPEC = ToolSpec(
    name="file_write",
    description="Write a text file under the sandbox folder (runtime/files/), atomically; no overwrite unless asked.",
    args_model=FileWriteArgs,
    side_effect="write-idempotent",
    cost=1.0,
    run=run,
)
