"""The one moto version the embedded engine's patches were written and checked against.

The engine replaces internals of moto (``LambdaSimpleBackend.invoke``, the interpreter's Lambda
client, its parser, its copies and threads), none of which is moto's public API: another version
may move or change any of them without notice. So the engine refuses to start on another version
and says how to get the right one, rather than run executions that may quietly differ.
"""

from __future__ import annotations

from chalicelib.errors import WorkflowError

MOTO_VERSION = "5.2.5"  # keep equal to the pin in pyproject.toml


class MotoVersionError(WorkflowError):
    """The installed moto is not the version the embedded engine's patches are for."""


def check_moto_version(installed: str | None = None) -> str:
    """Return moto's version, or raise ``MotoVersionError`` naming both versions and the fix.

    ``installed`` defaults to what ``import moto`` reports (``moto.__version__``)."""
    if installed is None:
        import moto

        installed = str(getattr(moto, "__version__", "unknown"))
    if installed != MOTO_VERSION:
        raise MotoVersionError(
            f"the embedded engine needs moto=={MOTO_VERSION} (it patches moto's internals), "
            f"but moto {installed} is installed; "
            f"run `pip install 'moto[stepfunctions,awslambda,dynamodb]=={MOTO_VERSION}'` "
            "(or `make .venv/.installed` after `rm -rf .venv`), or use --engine localstack / aws"
        )
    return installed
