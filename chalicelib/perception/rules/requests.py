"""Request-level rules, read before any clause: contractions spelt out, SQL the user wrote (passed
on as written, never split or read for constraints), and "do the same as last time"."""

from __future__ import annotations

import re

from chalicelib.perception.fragments import NOCASE, clean

CONTRACTIONS = re.compile(r"\b(it|that|what|there|here|who|how)'s\b", NOCASE)
_RUN_SQL = r"\b(?:run|execute|exec)\s+(?:the\s+|this\s+|a\s+|an\s+)?(?:following\s+)?(?:sql|query|statement|sql query|sql statement)"
_SQL_STATEMENT = r"(?:select\b.+\bfrom\b|select\s+[\d'(*]|insert|update|delete|drop|create|alter|pragma|attach|detach|replace|with|vacuum|reindex)\b"
RAW_SQL = re.compile(
    r"(?:" + _RUN_SQL + r"|\b(?:query|ask)\s+(?:the\s+)?(?:ops\s+)?(?:database|db)|\bsql)\s*:?\s*"
    r"(?P<sql>" + _SQL_STATEMENT + r".*)$",
    NOCASE | re.S,
)
REPEAT = re.compile(
    r"^(?:please\s+)?(?:(?:do|run|repeat|redo)\s+(?:the\s+same(?:\s+thing)?|that|it|this|the\s+last\s+(?:request|run|one|thing))"
    r"(?:\s+(?:again|as\s+(?:last\s+time|before)|one\s+more\s+time))?|(?:same|again|same\s+again|repeat(?:\s+the)?\s+last"
    r"(?:\s+(?:request|run))?))\s*[.!]*$",
    NOCASE,
)


def spell_out_contractions(request: str) -> str:
    """ "it's" -> "it is": the rules read the long form."""
    return CONTRACTIONS.sub(r"\1 is", request)


def raw_sql(request: str) -> re.Match[str] | None:
    """Where SQL the user wrote starts (its ``sql`` group is the statement), or None."""
    return RAW_SQL.search(request)


def is_repeat(request: str) -> bool:
    """True for "do the same as last time", "again", "repeat the last request"."""
    return bool(REPEAT.match(clean(request)))
