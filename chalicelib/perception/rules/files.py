"""The summary and file rules: "summarize the open incidents", "save the services to inventory.json".

What a summary or a file is about is read by the data rules first ("the open incidents" is a
query); "it", "the results" refer to what was read before. A file name is the one written, or
one built from "called X" and the format asked for (``catalogue.FILE_FORMATS``).
"""

from __future__ import annotations

import re

from chalicelib import catalogue
from chalicelib.contracts import Condition, make_subtask
from chalicelib.perception import fragments as fr
from chalicelib.perception.fragments import NOCASE
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.rule import Rule

_SHORT = r"(?:short |brief |quick )?"
_SUMMARY = r"(?:summary|recap|overview)"
SUMMARIZE_LEAD = re.compile(
    r"^(?:(?:and\s+)?(?:then\s+)?)?(?:summari[sz]e|sum up|recap|give (?:me )?(?:a |an )?"
    + _SHORT
    + r"(?:summary|recap|overview|brief) of|"
    r"write (?:me )?(?:a |an )?" + _SHORT + _SUMMARY + r" of|(?:a |an )?" + _SHORT + _SUMMARY + r" of|"
    r"give (?:me )?(?:a |an )?"
    + _SHORT
    + _SUMMARY
    + r"|(?:produce|make|create|prepare) (?:a |an )?"
    + _SHORT
    + _SUMMARY
    + r"(?: of)?)\s*",
    NOCASE,
)
SUMMARY_NOUN = re.compile(r"^" + _SHORT + _SUMMARY + r"(?:\s+of)?\s*", NOCASE)
REPORT_NOUN = re.compile(r"(?:a |an |the )?(?:short |brief )?(?:report|summary|recap)", NOCASE)
ARTICLE = re.compile(r"^(?:a|an|the)\s+", NOCASE)
# "write their ids to open.txt": a field of the rows just read; the file holds those rows
THEIR_FIELDS = re.compile(
    r"(?:their|its|the|those)\s+(?:ids?|names?|titles?|values?|versions?|owners?|regions?)"
    r"|(?:that|the)\s+(?:number|count|figure|value|result|total|answer)",
    NOCASE,
)
ALL_OF = re.compile(r"^(?:all\s+)?(?:of\s+)?", NOCASE)

FILE_NAME = re.compile(
    r"['\"]?(?P<path>[^\s'\",;]+\.(?P<ext>[A-Za-z][A-Za-z0-9]{0,4}))['\"]?(?=$|[\s,;])", NOCASE
)
# a save target written as a path without an extension ("to /etc/passwd", "into logs/today"): read
# as a path so the file tool's policy judges it (absolute, traversal), not asked for as "missing"
SLASH_PATH = re.compile(
    r"\b(?:to|in|into|as)\s+['\"]?(?P<path>(?:~|\.{1,2})?/[^\s'\",;]*|[\w.-]+/[^\s'\",;]*)['\"]?(?=$|[\s,;])",
    NOCASE,
)
SAVE = re.compile(r"^(?:save|write|store|export|dump|persist|record|put|output|keep)\b", NOCASE)
INTO_FILE = re.compile(r"\b(?:into|to|in)\s+(?:a\s+|the\s+)?[\w./-]+\.(?:md|txt|json|csv|log)\b", NOCASE)
SAVE_ANYWHERE = re.compile(r"\b(?:save|write|store|export|dump|persist)\b.*?\b(?:to|as|in|into)\b", NOCASE)
_FORMAT_WORD = "|".join(re.escape(word) for word in sorted(catalogue.FILE_FORMATS, key=len, reverse=True))
FORMAT = re.compile(r"\b(?:as|in|to)\s+(?:an?\s+)?(?P<fmt>" + _FORMAT_WORD + r")\b(?:\s+file)?", NOCASE)
NAMED = re.compile(r"\b(?:called|named|titled)\s+['\"]?(?P<name>[\w][\w-]*)['\"]?", NOCASE)
SAVE_TARGET = re.compile(
    r"\s*\b(?:to|as|in|into)\s+(?:a\s+|an\s+|the\s+)?(?:(?:markdown|md|plain text|text|txt|json|csv|log|spreadsheet)\s+)?(?:file\b|report\b|document\b)?"
    r"(?:\s*(?:called|named|titled)\s+\S+)?\s*(?:['\"]?[^\s'\"]+\.[A-Za-z]\w{0,4}['\"]?)?.*$|\s*\b(?:called|named)\s+\S+.*$",
    NOCASE,
)


QUOTED_ONLY = re.compile(r"[\"'“‘](?P<text>[^\"'“”‘’]+)[\"'”’]")


def file_path(text: str) -> str | None:
    if m := FILE_NAME.search(text):
        return m.group("path")
    name, fmt = NAMED.search(text), FORMAT.search(text)
    if name:
        return f"{name.group('name')}.{catalogue.FILE_FORMATS[fmt.group('fmt').lower()] if fmt else 'md'}"
    if m := SLASH_PATH.search(text):
        return m.group("path")
    return None


def file_format(path: str) -> str:
    """The format a path's extension names; ``txt`` for a path without one."""
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else "txt"


def _object(ctx: Context, rest: str, condition: Condition | None, what: str, text: str) -> bool:
    """Read what a summarize/save clause is about; False when it names nothing MAOO knows."""
    rest = ALL_OF.sub("", rest.strip(" ,")).strip()
    if (
        not rest
        or fr.RESULT_PRONOUN.match(rest)
        or REPORT_NOUN.fullmatch(rest)
        or THEIR_FIELDS.fullmatch(rest)
    ):
        if not any(t.kind in ("fetch", "query", "compute", "summarize") for t in ctx.tasks):
            ctx.missing.append(f"what to {what}: nothing is fetched or computed before {text!r}")
            return False
        return True
    reported = len(ctx.missing)
    named = fr.services(rest)
    if named:
        ctx.service = named[-1]
    if not ctx.read_data(rest, named, fr.window(rest), condition):
        if len(ctx.missing) == reported:
            ctx.missing.append(f"what {rest!r} is in {text!r}")
        return False
    return True


def _add_save(
    ctx: Context, text: str, path: str, condition: Condition | None, literal: str | None = None
) -> None:
    params: dict[str, object] = {"path": path, "format": file_format(path)}
    if literal is not None:
        params["content"] = {"kind": "literal", "text": literal}
    ctx.add(
        make_subtask(
            kind="save",
            text=text,
            params=params,
            success_criteria=[f"{path} written" + (f" with {literal!r}" if literal is not None else "")],
        ),
        condition,
    )


def _add_summary(ctx: Context, text: str, condition: Condition | None) -> None:
    ctx.add(
        make_subtask(kind="summarize", text=text, success_criteria=["a summary of the results"]), condition
    )


def summarize(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    target = (SAVE_ANYWHERE.search(text) or INTO_FILE.search(text)) and file_path(text)
    body = SAVE_TARGET.sub("", text) if target else text
    rest = SUMMARIZE_LEAD.sub("", body, count=1) if SUMMARIZE_LEAD.match(body) else fr.SUMMARIZE.sub("", body)
    if not _object(ctx, rest, condition, "summarize", text):
        return True
    _add_summary(ctx, text, condition)
    if target:
        _add_save(ctx, text, target, condition)
    return True


def save(ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
    path = file_path(text)
    rest = SAVE_TARGET.sub("", SAVE.sub("", text, count=1))
    if not path:
        ctx.missing.append(f"a file name (for example report.md) for {text!r}")
        return True
    if literal := QUOTED_ONLY.fullmatch(rest.strip(" ,")):
        # "write 'all clear' to status.txt": the file holds exactly the user's words
        _add_save(ctx, text, path, condition, literal.group("text"))
        return True
    wants_summary = bool(fr.SUMMARIZE.search(rest))
    if wants_summary:
        rest = SUMMARIZE_LEAD.sub("", ARTICLE.sub("", rest.strip()), count=1)
        rest = SUMMARY_NOUN.sub("", rest)
    if not _object(ctx, rest, condition, "save", text):
        return True
    if wants_summary and not (ctx.tasks and ctx.tasks[-1].kind == "summarize"):
        _add_summary(ctx, text, condition)
    _add_save(ctx, text, path, condition)
    return True


SUMMARIZE = Rule(
    "summarize",
    SUMMARIZE_LEAD,
    summarize,
    (
        ("summarize the open incidents of checkout", ("fetch", "summarize")),
        ("give me a short recap of the deployments", ("query", "summarize")),
    ),
    applies=lambda text, named: bool(
        SUMMARIZE_LEAD.match(text) or (fr.SUMMARIZE.search(text) and not SAVE.match(text))
    ),
)
SAVE_FILE = Rule(
    "save_file",
    SAVE,
    save,
    (("save the services to inventory.json", ("query", "save")), ("write the incidents to a file", ())),
    applies=lambda text, named: bool(SAVE.match(text)),
)
