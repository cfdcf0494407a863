"""Every relative link in README.md and docs/ points at a file that exists (and a heading, for ``#part``).

Run by ``make lint`` (``python scripts/check_links.py``) and by ``tests/unit/test_links.py``. Links
to the web (``https:``, ``mailto:``) are not followed: the checks run offline. Exit status 1 lists
each broken link as ``file:line: target (why)``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\".*\")?\s*$")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    found = [root / "README.md"] if (root / "README.md").is_file() else []
    return found + sorted((root / "docs").rglob("*.md"))


def _lines_outside_code(path: Path) -> Iterator[tuple[int, str]]:
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, re.sub(r"`[^`]*`", "", line)  # a link inside inline code is an example


def slug(heading: str) -> str:
    """The anchor a heading gets on GitHub: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, line in _lines_outside_code(path):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return out


def broken_links(root: Path = ROOT) -> list[str]:
    """``file:line: target (why)`` for every relative link that leads nowhere."""
    problems = []
    for document in documents(root):
        for number, line in _lines_outside_code(document):
            targets = [m.group(1) for m in LINK.finditer(line)]
            reference = REFERENCE.match(line)
            if reference:
                targets.append(reference.group(1))
            for target in targets:
                why = _why_broken(document, target)
                if why:
                    problems.append(f"{document.relative_to(root)}:{number}: {target} ({why})")
    return problems


def _why_broken(document: Path, target: str) -> str | None:
    if EXTERNAL.match(target):
        return None
    path_part, _, anchor = target.partition("#")
    destination = (document.parent / path_part).resolve() if path_part else document
    if not destination.exists():
        return "no such file"
    if anchor and destination.suffix == ".md" and anchor.lower() not in anchors(destination):
        return f"no heading #{anchor} in {destination.name}"
    return None


def main() -> int:
    problems = broken_links()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} broken relative link(s): fix the path or the heading", file=sys.stderr)
        return 1
    print(f"relative links: {len(documents())} files checked, none broken")
    return 0


if __name__ == "__main__":
    sys.exit(main())
