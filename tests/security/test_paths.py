"""Path traversal: ``file_write`` writes only plain files inside its sandbox folder.

Each hostile path must come back as a ``policy_denied`` failure naming its rule, and nothing on
disk may change: not in the sandbox, not beside it. The sandbox is seeded with the traps an
attacker would plant: symlinks out of it, a symlink loop, a hard link to an outside file, a
FIFO, a folder named like a file.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.config import get_settings
from chalicelib.tools import file_write
from chalicelib.tools.base import ToolFailure
from tests.security.conftest import assert_denied, call_tool, tree_snapshot

PATH_CORPUS: list[tuple[str, str]] = [
    ("../x.md", "file.traversal"),
    ("../../x.md", "file.traversal"),
    ("../../../../../../etc/cron.d/x.txt", "file.traversal"),
    ("reports/../../x.md", "file.traversal"),
    ("reports/..", "file.traversal"),
    ("..", "file.traversal"),
    ("./x.md", "file.traversal"),
    ("a/./b.md", "file.traversal"),
    ("/etc/passwd.md", "file.absolute"),
    ("/tmp/x.md", "file.absolute"),
    ("//server/share/x.md", "file.absolute"),
    ("~/x.md", "file.absolute"),
    ("~root/.ssh/authorized_keys.txt", "file.absolute"),
    ("..\\..\\x.md", "file.path_syntax"),
    ("reports\\x.md", "file.path_syntax"),
    ("C:\\Windows\\x.md", "file.path_syntax"),
    ("C:x.md", "file.path_syntax"),
    ("x.md:stream", "file.path_syntax"),
    ("x\x00.md", "file.path_syntax"),
    ("x.md\x00.sh", "file.path_syntax"),
    ("x\n.md", "file.path_syntax"),
    ("x\u202egnp.md", "file.path_syntax"),
    ("%2e%2e/x.md", "file.path_syntax"),
    ("..%2fx.md", "file.path_syntax"),
    ("\uff0e\uff0e/x.md", "file.path_syntax"),
    ("a//b.md", "file.path_syntax"),
    ("x.md/", "file.path_syntax"),
    ("x.md.", "file.path_syntax"),
    (" x.md", "file.path_syntax"),
    ("/".join(["d"] * 10) + "/x.md", "file.path_syntax"),
    ("a" * 101 + ".md", "file.path_syntax"),
    (".env", "file.hidden"),
    (".ssh/authorized_keys.txt", "file.hidden"),
    ("reports/.hidden.md", "file.hidden"),
    ("con.md", "file.device_name"),
    ("CON.txt", "file.device_name"),
    ("reports/aux.json", "file.device_name"),
    ("nul.log", "file.device_name"),
    ("com1.md", "file.device_name"),
    ("LPT9.csv", "file.device_name"),
    ("com\u00b9.md", "file.device_name"),
    ("conin$.md", "file.path_syntax"),
    ("x.exe", "file.extension"),
    ("x.md.sh", "file.extension"),
    ("x", "file.extension"),
    ("x.MD.py", "file.extension"),
    ("escape/x.md", "file.symlink_escape"),
    ("escape/../x.md", "file.traversal"),
    ("link.md", "file.symlink_escape"),
    ("loop.md", "file.symlink_escape"),
    ("inner/escape/deep.md", "file.symlink_escape"),
    ("hard.md", "file.not_regular"),
    ("dir.md", "file.not_regular"),
    ("fifo.md", "file.not_regular"),
    ("plain.md/x.md", "file.not_regular"),
]


@pytest.fixture
def sandbox(isolated_runtime: Path) -> dict[str, Path]:
    """A sandbox with the traps planted, and a folder beside it holding a file worth stealing."""
    root = get_settings().files_dir
    root.mkdir(parents=True)
    outside = isolated_runtime.parent / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("outside the sandbox\n")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "inner").mkdir()
    (root / "inner" / "escape").symlink_to(outside, target_is_directory=True)
    (root / "link.md").symlink_to(outside / "secret.md")
    (root / "loop.md").symlink_to(root / "loop.md")
    os.link(outside / "secret.md", root / "hard.md")
    (root / "dir.md").mkdir()
    os.mkfifo(root / "fifo.md")
    (root / "plain.md").write_text("a plain file\n")
    return {"root": root, "outside": outside, "top": isolated_runtime.parent}


def test_corpus_is_large_enough():
    assert len(PATH_CORPUS) >= 30 and len({p for p, _ in PATH_CORPUS}) == len(PATH_CORPUS)


@pytest.mark.parametrize(("path", "rule"), PATH_CORPUS, ids=[f"{i:02d}" for i in range(len(PATH_CORPUS))])
def test_hostile_path_is_denied_and_writes_nothing(path, rule, sandbox):
    before = tree_snapshot(sandbox["top"])

    result = call_tool("file_write", {"path": path, "content": "pwned\n", "overwrite": True})

    assert_denied(result, rule)
    assert tree_snapshot(sandbox["top"]) == before
    assert (sandbox["outside"] / "secret.md").read_text() == "outside the sandbox\n"


@pytest.mark.parametrize(("path", "rule"), PATH_CORPUS[:12], ids=[f"{i:02d}" for i in range(12)])
def test_policy_engine_uses_the_same_check(path, rule, sandbox):
    with pytest.raises(ToolFailure) as denied:
        file_write.sandbox_path(path)
    assert denied.value.kind == "policy_denied" and denied.value.details["rule"] == rule


def test_content_over_the_size_limit_is_denied_and_writes_nothing(sandbox):
    before = tree_snapshot(sandbox["top"])
    content = "\u00e9" * (file_write.MAX_BYTES // 2 + 1)  # within the character limit, over the byte limit

    result = call_tool("file_write", {"path": "big.md", "content": content})

    assert_denied(result, "file.size")
    assert tree_snapshot(sandbox["top"]) == before


def test_existing_file_is_not_overwritten_unless_asked(sandbox):
    result = call_tool("file_write", {"path": "plain.md", "content": "other\n"})

    assert_denied(result, "file.no_overwrite")
    assert (sandbox["root"] / "plain.md").read_text() == "a plain file\n"


def test_write_inside_the_sandbox_is_atomic_and_leaves_no_temporary_file(sandbox):
    result = call_tool("file_write", {"path": "reports/today.md", "content": "# today\n"})

    assert result.ok and result.output == {"path": "reports/today.md", "bytes": 8, "replayed": False}
    assert (sandbox["root"] / "reports" / "today.md").read_text() == "# today\n"
    assert [p.name for p in (sandbox["root"] / "reports").iterdir()] == ["today.md"]


# ---------------------------------------------------------------- properties

_hostile_alphabet = st.sampled_from(
    list("ab.-_/\\~: %$\x00\n") + ["..", "../", "con", ".md", ".txt", "escape", "\uff0e", "\u202e"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(_hostile_alphabet, min_size=1, max_size=12).map("".join))
def test_property_a_path_is_denied_or_resolves_inside_the_sandbox(path, sandbox):
    root = sandbox["root"].resolve()
    try:
        target = file_write.sandbox_path(path)
    except ToolFailure as failure:
        assert failure.kind == "policy_denied" and failure.details["rule"].startswith("file.")
        return
    assert target.is_relative_to(root) and target != root
    assert target == target.resolve()  # no symlink left to follow at write time
    assert ".." not in Path(path).parts and not Path(path).is_absolute()
    assert target.suffix.lower() in file_write.ALLOWED_SUFFIXES


_safe_name = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=20).filter(
    lambda n: n.lower() not in {"con", "prn", "aux", "nul"} and not n.lower().startswith(("com", "lpt"))
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    folders=st.lists(_safe_name, max_size=3),
    name=_safe_name,
    suffix=st.sampled_from(file_write.ALLOWED_SUFFIXES),
)
def test_property_plain_relative_paths_are_accepted_where_they_say(folders, name, suffix, sandbox):
    relative = "/".join([*folders, name + suffix])

    assert file_write.sandbox_path(relative) == sandbox["root"].resolve().joinpath(*folders, name + suffix)
