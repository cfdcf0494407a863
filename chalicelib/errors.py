"""One error hierarchy for MAOO.

Names say what happened. ``MaooError`` subclasses are expected failures that reach the user as a
clear message; ``PlatformError`` subclasses (MaooErrors too) are raised out of a Lambda on purpose so that the state
machine's native ``Retry``/``Catch`` handles them (their class name is the ASL error name).

``describe_validation_error`` is the one formatter for a pydantic ``ValidationError``. This module
imports nothing of the project (an import-linter contract checks it), and pydantic only for types, so
that every module can import it without cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class MaooError(Exception):
    """Base of every error MAOO raises on purpose."""


class ConfigError(MaooError):
    """A setting (an ``MAOO_*`` variable or a CLI option) has a value that is not accepted."""


class BadRequestError(MaooError):
    """Input from a user (a request, a run id, a scenario) is not accepted."""


class PayloadTooLargeError(BadRequestError):
    """A request body over the HTTP API's size limit (HTTP 413)."""


class UnknownToolError(MaooError):
    """A tool name that is not in the registry."""


class WorkflowError(MaooError):
    """The state machine could not be started, or ended in a way MAOO does not recognise."""


class StateMachineNotFoundError(WorkflowError):
    """The engine has no MAOO state machine: it has not been deployed there."""


class PlatformError(MaooError):
    """Raised out of a handler for the state machine's own Retry/Catch to handle."""


class StateContractError(PlatformError):
    """A state's input does not match its contract: a bug or a corrupted payload, never retried."""


def validation_problems(
    exc: ValidationError, *, root: str = "(root)", limit: int | None = None
) -> list[tuple[str, str]]:
    """``(field, message)`` for each problem pydantic found, the field as a dotted path (``root`` when the
    problem is with the value as a whole), at most ``limit`` of them. The one place that reads
    ``ValidationError.errors()``, so every boundary names a bad field the same way."""
    return [
        (".".join(str(part) for part in error["loc"]) or root, error["msg"]) for error in exc.errors()[:limit]
    ]


def describe_validation_error(
    exc: ValidationError, *, root: str = "(root)", limit: int | None = None, sep: str = "; "
) -> str:
    """The project's one-line message for a pydantic ``ValidationError``: ``field: message`` for each
    problem (see ``validation_problems``), joined by ``sep``."""
    return sep.join(
        f"{field}: {message}" for field, message in validation_problems(exc, root=root, limit=limit)
    )


class StoreError(MaooError):
    """The run store cannot be read or written (disk full, a read-only file, a lock held too long).

    The run is left ``interrupted`` at its last checkpoint; ``cli resume`` finishes it later."""


class ResumeRefusedError(BadRequestError):
    """A resume, an approval or a rejection that does not apply to the run as it is now."""


class IdempotencyConflictError(BadRequestError):
    """An idempotency key already used for a request with another body."""


class RunNotFoundError(BadRequestError):
    """No run with this id in the run store (HTTP 404); each front end adds where runs are listed."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r}")
        self.run_id = run_id


class MockApiNotConfiguredError(ConfigError):
    """A run on the embedded engine would call the ops API at its default address, and nothing serves it
    (``chalice local`` without ``MAOO_MOCK_API_URL``): a set-up step, not the caller's mistake (HTTP 503)."""


class ForkNotFoundError(BadRequestError):
    """A fork of a run, a step or a trace that does not exist (HTTP 404): the message lists what does."""


class ForkRefusedError(ResumeRefusedError):
    """A fork that does not apply to the run as it is now (HTTP 409): still in progress, a step never reached."""


class ConfirmationRequiredError(ForkRefusedError):
    """A fork that would send again a write which already succeeded (or, a plain write, may have been
    applied) in its run's lineage: it needs ``--yes`` (``{"yes": true}``), so that nobody opens a
    second incident by accident."""
