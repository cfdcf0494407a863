"""``file_write``: write a text file under the sandbox folder, atomically.

``sandbox_path`` is the whole policy, and it runs twice: at plan time (the policy engine) and in
``run``. It judges the text first (no NUL, control character, backslash, ``%``, ``:``, empty,
``.`` or ``..`` component, absolute or ``~`` path, hidden or Windows device name, nothing outside
letters, digits and ``-_. ``, an allowed extension, at most ``MAX_DEPTH`` folders), then the
file system: the path is resolved with every symlink followed and must still be inside the real
sandbox folder, and an existing target must be a plain file with one link. ``run`` writes to a
temporary file in the target's folder and renames it into place, so a reader sees the old file
or the new one, never half of one, and re-checks that the folder is still inside the sandbox just
before the rename.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import Field

from chalicelib.config import get_settings
from chalicelib.tools.base import LambdaSettings, ToolArgs, ToolContext, ToolFailure, ToolSpec

MAX_BYTES = 1_000_000
MAX_DEPTH = 8
MAX_COMPONENT_CHARS = 100
ALLOWED_SUFFIXES = (".md", ".txt", ".json", ".csv", ".log")
_DEVICE_NAMES = {
    "con",
    "prn",
    "aux",
    "nul",
    "conin$",
    "conout$",
    "clock$",
    *(f"{port}{n}" for port in ("com", "lpt") for n in (*"0123456789", "¹", "²", "³")),
}
_NAME_PUNCTUATION = set("-_. ")


class FileWriteArgs(ToolArgs):
    path: str = Field(
        min_length=1,
        max_length=255,
        description="Relative path under the sandbox, e.g. 'reports/incidents.md'",
    )
    content: str = Field(max_length=MAX_BYTES)
    overwrite: bool = False


def _deny(rule: str, message: str) -> ToolFailure:
    return ToolFailure("policy_denied", message, details={"rule": rule})


def _check_text(relative: str) -> PurePosixPath:
    """The path as a relative POSIX path, if its text passes every rule that needs no file system."""
    if any(
        ch == "\x00" or ch == "\\" or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in relative
    ):
        raise _deny(
            "file.path_syntax", f"path {relative!r} contains a NUL, a control character or a backslash"
        )
    if relative.startswith(("/", "~")) or PurePosixPath(relative).is_absolute():
        raise _deny("file.absolute", f"path {relative!r} is absolute; give a path relative to the sandbox")
    parts = relative.split("/")
    if any(part in ("..", ".") for part in parts):
        raise _deny("file.traversal", f"path {relative!r} leaves or names the sandbox folder itself")
    if any(part == "" for part in parts):
        raise _deny("file.path_syntax", f"path {relative!r} has an empty folder or file name")
    if len(parts) > MAX_DEPTH + 1 or any(len(part) > MAX_COMPONENT_CHARS for part in parts):
        raise _deny(
            "file.path_syntax",
            f"path {relative!r} is deeper than {MAX_DEPTH} folders or has a name over {MAX_COMPONENT_CHARS} characters",
        )
    for part in parts:
        if not all(ch.isalnum() or ch in _NAME_PUNCTUATION for ch in part) or part != part.strip(" "):
            raise _deny(
                "file.path_syntax",
                f"path {relative!r}: names may use letters, digits, '-', '_', '.' and inner spaces only",
            )
        if part.startswith("."):
            raise _deny("file.hidden", f"path {relative!r} names a hidden file or folder")
        if part.endswith("."):
            raise _deny("file.path_syntax", f"path {relative!r} has a name ending in a dot")
        if part.split(".")[0].rstrip(" ").lower() in _DEVICE_NAMES:
            raise _deny("file.device_name", f"path {relative!r} uses a reserved device name")
    pure = PurePosixPath(relative)
    if pure.suffix.lower() not in ALLOWED_SUFFIXES:
        raise _deny(
            "file.extension",
            f"path {relative!r} has extension {pure.suffix or '(none)'!r}; allowed: {', '.join(ALLOWED_SUFFIXES)}",
        )
    return pure


def _root() -> Path:
    root = get_settings().files_dir
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve(strict=True)


def check_path_arg(args: dict[str, Any]) -> None:
    """The policy engine's check of a planned call's ``path`` argument (before anything is written)."""
    if isinstance(args.get("path"), str):
        sandbox_path(args["path"])


def sandbox_path(relative: str) -> Path:
    """Resolve a relative path inside the sandbox, or raise a ``policy_denied`` failure.

    The returned path is real (no symlink in it), inside the real sandbox folder, and either
    absent or a regular file with a single link. ``details["rule"]`` of a failure names the
    rule: ``file.path_syntax``, ``file.absolute``, ``file.traversal``, ``file.hidden``,
    ``file.device_name``, ``file.extension``, ``file.symlink_escape`` or ``file.not_regular``.
    """
    pure = _check_text(relative)
    root = _root()
    try:
        target = (root / pure).resolve()
    except (RuntimeError, OSError):
        raise _deny(
            "file.symlink_escape", f"path {relative!r} cannot be resolved (a symlink loop?)"
        ) from None
    if target == root or not target.is_relative_to(root):
        raise _deny("file.symlink_escape", f"path {relative!r} resolves outside the sandbox")
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise _deny("file.not_regular", f"path {relative!r} cannot be inspected: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        raise _deny(
            "file.not_regular", f"path {relative!r} exists and is not a plain file with a single link"
        )
    return target


def _temporary(target: Path, ctx: ToolContext) -> tuple[int, str]:
    """A new temporary file beside ``target``. A call with an idempotency key names it after the key,
    so a call made again after a kill (same key) first removes what the killed one left half-written."""
    if not ctx.idempotency_key:
        return tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    digest = hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:16]
    tmp = target.parent / f".tmp-{digest}{target.suffix}"
    tmp.unlink(missing_ok=True)  # a link is removed, never followed
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(tmp, flags, 0o600), str(tmp)


def run(args: FileWriteArgs, ctx: ToolContext) -> dict[str, Any]:
    target = sandbox_path(args.path)
    data = args.content.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise _deny("file.size", f"content is {len(data)} bytes; at most {MAX_BYTES} allowed")
    if target.exists():
        if target.read_bytes() == data:
            return {"path": args.path, "bytes": len(data), "replayed": True}
        if not args.overwrite:
            raise _deny(
                "file.no_overwrite", f"{args.path} exists with other content; set overwrite to replace it"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temporary(target, ctx)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if not Path(tmp).resolve().parent.is_relative_to(_root()):
            raise _deny(
                "file.symlink_escape", f"path {args.path!r} moved outside the sandbox while it was written"
            )
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
    lambda_settings=LambdaSettings(timeout=10, memory_mb=256),
    max_calls_per_plan=3,
    check_args=check_path_arg,
)
