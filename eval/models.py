"""The scenario file's schema: what to run, what to arm, and what a user expects to see.

``load_scenarios`` reads ``eval/scenarios.json`` and validates every scenario with pydantic
(``extra="forbid"`` throughout). A scenario that does not validate is an error naming the
scenario (its id, else its index) and every field that is wrong, so a typo such as ``stop_reson``
is never silently ignored.

An expectation left out is not checked; ``stop_reason: null`` is checked (the run must have no stop
reason). A ``known_gap`` marks a scenario whose expectation MAOO does not meet yet: it is still run
and scored, reported as a known gap while it fails, and as an unexpected pass once it passes (so
the marker gets removed and the scenario guards the fix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chalicelib.contracts import Decision, RunStatus, Signal
from chalicelib.errors import BadRequestError, describe_validation_error
from chalicelib.tools.names import ToolName
from mock_api.faults import FaultRule

DEFAULT_SCENARIOS = Path(__file__).with_name("scenarios.json")

Category = Literal[
    "happy_path",
    "conditional",
    "fault_recovery",
    "exactly_once",
    "stop_guard",
    "policy_denial",
    "unsupported",
    "memory",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
# Settings the runner owns for every scenario: a scenario cannot point them elsewhere.
RESERVED_ENV = frozenset({"MAOO_RUNTIME_DIR", "MAOO_MOCK_API_URL", "MAOO_ENGINE", "MAOO_STORE"})


class ScenarioFileError(BadRequestError):
    """The scenario file cannot be read, or a scenario in it does not validate."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GuardOverrides(_Model):
    """Guard values for this run only (the run's ``guards``); unset ones keep their defaults."""

    max_steps: int | None = Field(default=None, ge=0)
    max_retries_per_step: int | None = Field(default=None, ge=0)
    max_retries: int | None = Field(default=None, ge=0)
    budget: float | None = Field(default=None, ge=0)
    deadline_seconds: float | None = Field(default=None, ge=0)
    non_progress_limit: int | None = Field(default=None, ge=1)

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Overrides(_Model):
    guards: GuardOverrides = Field(default_factory=GuardOverrides)
    env: dict[str, str] = Field(
        default_factory=dict, description="MAOO_* settings, applied and restored around the scenario"
    )

    @field_validator("env")
    @classmethod
    def _maoo_settings_only(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not name.startswith("MAOO_"):
                raise ValueError(f"{name!r} is not a MAOO_* setting")
            if name in RESERVED_ENV:
                raise ValueError(
                    f"{name} is set by the eval runner for every scenario; it cannot be overridden"
                )
        return env


class SetupRun(_Model):
    """A run made before the scenario's own, in the same runtime folder (what memory remembers)."""

    request: str = Field(min_length=1)
    faults: list[FaultRule] = Field(default_factory=list)
    guards: GuardOverrides = Field(default_factory=GuardOverrides)


class NumberExpectation(_Model):
    """A number that must appear in the final output, within ``tolerance``."""

    value: float
    tolerance: float = Field(default=1e-6, ge=0)


class FinalOutputExpectation(_Model):
    contains: list[str] = Field(default_factory=list, description="case-insensitive substrings")
    not_contains: list[str] = Field(default_factory=list)
    numbers: list[NumberExpectation] = Field(default_factory=list)


class Expectations(_Model):
    status: RunStatus
    stop_reason: str | None = None
    stop_detail_contains: list[str] = Field(default_factory=list)
    tools_sequence: list[ToolName] | None = Field(
        default=None, description="every tool call, in order, retries included"
    )
    tools_set: list[ToolName] | None = Field(
        default=None, description="the distinct tools called, in any order"
    )
    signals: list[Signal] = Field(default_factory=list, description="each must be observed at least once")
    decisions: list[Decision] = Field(default_factory=list, description="each must be taken at least once")
    decisions_absent: list[Decision] = Field(default_factory=list)
    states_include: list[str] = Field(
        default_factory=list, description="state machine states that must be entered"
    )
    final_output: FinalOutputExpectation | None = None
    side_effects: int | None = Field(default=None, ge=0, description="writes the mock API applied")
    side_effect_kinds: dict[Literal["incident_created", "notification_sent"], int] = Field(
        default_factory=dict
    )
    requests_absent: list[str] = Field(
        default_factory=list, description="'METHOD /path' fnmatch patterns the mock API must not see"
    )
    max_steps: int | None = Field(default=None, ge=0, description="at most this many tool calls")
    min_wait_seconds: float | None = Field(
        default=None, ge=0, description="some retry waited at least this long"
    )
    plan_notes_contains: list[str] = Field(default_factory=list)
    files: dict[str, list[str]] = Field(
        default_factory=dict, description="sandbox files that must exist, with substrings"
    )

    def checks_stop_reason(self) -> bool:
        return "stop_reason" in self.model_fields_set


class Scenario(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    category: Category
    description: str = ""
    request: str = Field(min_length=1)
    setup: list[SetupRun] = Field(default_factory=list)
    faults: list[FaultRule] = Field(default_factory=list)
    overrides: Overrides = Field(default_factory=Overrides)
    expect: Expectations
    known_gap: str | None = Field(
        default=None, min_length=1, description="why MAOO does not meet the expectation yet"
    )

    @model_validator(mode="after")
    def _sequence_agrees_with_set(self) -> Scenario:
        exp = self.expect
        if (
            exp.tools_sequence is not None
            and exp.tools_set is not None
            and set(exp.tools_sequence) != set(exp.tools_set)
        ):
            raise ValueError("expect.tools_sequence and expect.tools_set name different tools")
        return self


def parse_scenarios(raw: Any, source: str = "scenarios") -> list[Scenario]:
    """Validate the decoded scenario file; raises ``ScenarioFileError`` naming what is wrong."""
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - {"scenarios", "description"})
        if unknown:
            raise ScenarioFileError(
                f"{source}: unknown top-level field(s) {', '.join(unknown)}; expected 'scenarios'"
            )
        raw = raw.get("scenarios")
    if not isinstance(raw, list):
        raise ScenarioFileError(f'{source}: expected a list of scenarios (or {{"scenarios": [...]}})')
    scenarios: list[Scenario] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        label = (
            f"scenario {item['id']!r} (index {index})"
            if isinstance(item, dict) and isinstance(item.get("id"), str)
            else f"scenario at index {index}"
        )
        try:
            scenario = Scenario.model_validate(item)
        except ValidationError as exc:
            problems.append(f"{label}: {describe_validation_error(exc, root='(scenario)')}")
            continue
        if scenario.id in seen:
            problems.append(f"{label}: id repeats the scenario at index {seen[scenario.id]}")
            continue
        seen[scenario.id] = index
        scenarios.append(scenario)
    if problems:
        raise ScenarioFileError(f"{source}: " + " | ".join(problems))
    if not scenarios:
        raise ScenarioFileError(f"{source}: no scenarios")
    return scenarios


def load_scenarios(path: Path | str | None = None) -> list[Scenario]:
    """The scenarios in ``path`` (default ``eval/scenarios.json``), validated."""
    path = Path(path) if path else DEFAULT_SCENARIOS
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioFileError(f"cannot read scenario file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ScenarioFileError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    return parse_scenarios(raw, str(path))


def select(scenarios: list[Scenario], text: str | None = None, category: str | None = None) -> list[Scenario]:
    """The scenarios whose id or request contains ``text`` (case-insensitive), in ``category``."""
    if category is not None and category not in CATEGORIES:
        raise ScenarioFileError(f"unknown category {category!r}; use one of: {', '.join(CATEGORIES)}")
    needle = (text or "").lower()
    return [
        s
        for s in scenarios
        if (not needle or needle in s.id.lower() or needle in s.request.lower())
        and (category is None or s.category == category)
    ]
