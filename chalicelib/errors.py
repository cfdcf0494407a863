"""One error hierarchy for MAOO.

Names say what happened. ``MaooError`` subclasses are expected failures that reach the user as a
clear message; ``PlatformError`` subclasses are raised out of a Lambda on purpose so that the state
machine's native ``Retry``/``Catch`` handles them (their class name is the ASL error name).
"""


class MaooError(Exception):
    """Base of every error MAOO raises on purpose."""


class ConfigError(MaooError):
    """A setting (an ``MAOO_*`` variable or a CLI option) has a value that is not accepted."""


class BadRequestError(MaooError):
    """Input from a user (a request, a run id, a scenario) is not accepted."""


class UnknownToolError(MaooError):
    """A tool name that is not in the registry."""


class WorkflowError(MaooError):
    """The state machine could not be started, or ended in a way MAOO does not recognise."""


class StateMachineNotFoundError(WorkflowError):
    """The engine has no MAOO state machine: it has not been deployed there."""


class PlatformError(Exception):
    """Raised out of a handler for the state machine's own Retry/Catch to handle."""


class StateContractError(PlatformError):
    """A state's input does not match its contract: a bug or a corrupted payload, never retried."""


class StoreError(MaooError):
    """The run store cannot be read or written (disk full, a read-only file, a lock held too long).

    The run is left ``interrupted`` at its last checkpoint; ``cli resume`` finishes it later."""


class ResumeRefusedError(BadRequestError):
    """A resume, an approval or a rejection that does not apply to the run as it is now."""


class IdempotencyConflictError(BadRequestError):
    """An idempotency key already used for a request with another body."""
