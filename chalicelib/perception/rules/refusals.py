"""The clause rule for actions MAOO has no tool for: reported as unsupported, never skipped."""

from __future__ import annotations

import re

from chalicelib.contracts import Condition
from chalicelib.perception.fragments import NOCASE
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.rule import Rule

_OPS_VERBS = (
    r"restart|reboot|deploy|redeploy|roll back|rollback|scale(?: up| down| out)?|delete|drop|remove|kill|shut down|"
    r"stop|update|modify|change|close|resolve|acknowledge|ack|migrate|upgrade|downgrade|patch|purge|truncate|reset|disable|"
    r"enable|terminate"
)
_OTHER_ERRANDS = (
    r"book|buy|order|bake|cook|translate|play|write (?:a|me a) (?:poem|song|story|joke)|tell (?:me )?a joke"
)
PATTERN = re.compile(r"^(?P<verb>" + _OPS_VERBS + "|" + _OTHER_ERRANDS + r")\b", NOCASE)


def refuse(
    ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None
) -> bool:
    ctx.unsupported.append(text)
    ctx.rule = "unsupported_action"
    return True


UNSUPPORTED_ACTION = Rule(
    "unsupported_action",
    PATTERN,
    refuse,
    (("restart payments", ()), ("write me a poem about deployments", ())),
    applies=lambda text, named: bool(PATTERN.match(text)),
    refuses=True,
)
