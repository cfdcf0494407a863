"""The corpus files' schema, validated with pydantic so a typo in an expectation is an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.errors import BadRequestError

HERE = Path(__file__).parent
# v2: written against capabilities.md (the held-out part blind, by an author who saw only that list and
# dataset.md); the first corpus is kept as the last two parts
PARTS = ("held_out_v3", "tuning_v2", "held_out_v2", "tuning", "held_out")
Category = Literal[
    "arithmetic",
    "ops_question",
    "typo_shorthand",
    "multi_part",
    "conditional",
    "constraint",
    "out_of_domain",
    "impossible",
    "ambiguous",
    # v2
    "field",
    "list",
    "aggregate",
    "grouping",
    "estate_arithmetic",
    "modifier",
    "action",
    "condition",
    "reference",
    "unsupported_modifier",
]
Register = Literal["terse", "sentence", "question", "chat"]
# "refused": the run did not succeed and made no write (which reason it gave is not judged)
Outcome = Literal[
    "refused",
    "succeeded",
    "failed",
    "unsupported_request",
    "ambiguous_request",
    "policy_denied",
    "max_steps",
    "invalid_plan",
]


class CorpusFileError(BadRequestError):
    """A corpus file cannot be read or does not validate."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileExpectation(_Model):
    path: str
    contains: list[str] = Field(default_factory=list)
    equals: str | None = None  # the whole file, ignoring a final newline


class Expectation(_Model):
    """What must be true of the run; anything left out is not checked."""

    outcome: Outcome | list[Outcome]
    value: float | None = None  # the last value calc computed
    values: list[float] = Field(default_factory=list)  # values calc must have computed, in any order
    tools: list[str] = Field(default_factory=list)  # each called at least once, successfully
    no_tools: list[str] = Field(default_factory=list)  # never called
    contains: list[str] = Field(default_factory=list)  # in what the tools returned or the final output
    no_contains: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)  # in the arguments of the calls made
    no_args: list[str] = Field(default_factory=list)
    file: FileExpectation | None = None
    detail: list[str] = Field(default_factory=list)  # words the stop detail must hold
    items: list[str] | None = None  # exactly the names or ids the answer lists (any order)
    incidents: int | None = None  # how many incidents the run opens
    notifications: int | None = None  # how many notifications it posts
    files: int | None = None  # how many files it writes

    def outcomes(self) -> list[str]:
        return [self.outcome] if isinstance(self.outcome, str) else list(self.outcome)


class Entry(_Model):
    id: str
    category: Category
    request: str
    expect: Expectation
    # how the request is written (v2 parts); aliased: pydantic's BaseModel has a ``register`` of its own
    written_as: Register | None = Field(default=None, alias="register")


class Corpus(_Model):
    part: Literal["held_out_v3", "tuning_v2", "held_out_v2", "tuning", "held_out"]
    requests: list[Entry]


def load(part: str) -> Corpus:
    """The corpus part ``part`` (``tuning`` or ``held_out``)."""
    if part not in PARTS:
        raise CorpusFileError(f"unknown corpus part {part!r}; accepted: {', '.join(PARTS)}")
    path = HERE / f"{part}.json"
    try:
        return Corpus.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise CorpusFileError(f"{path}: {exc}") from exc
