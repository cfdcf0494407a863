"""The embedded engine: moto's Step Functions interpreter in this process, Lambda Tasks answered
by the Chalice handlers in-process. No Docker, no server, no network.

It is not Lambda code, so it lives outside ``chalicelib/`` (which Chalice packages into every
function) and ``chalicelib`` never imports it. Whoever runs requests locally (the CLI, ``chalice
local`` through ``app.py``, the eval, the benchmark) passes ``open_embedded_runner`` to
``chalicelib.workflow.engines.open_runner`` as the factory for the ``embedded`` engine.

Importing this package is cheap: moto is imported when the engine starts.
"""

from __future__ import annotations

from embedded_engine.engine import (
    EmbeddedEngine,
    LambdaContext,
    SimulatedServiceError,
    get_embedded_engine,
    open_embedded_runner,
    reset_embedded_engine,
)
from embedded_engine.moto_version import MOTO_VERSION, MotoVersionError, check_moto_version

__all__ = [
    "MOTO_VERSION",
    "EmbeddedEngine",
    "LambdaContext",
    "MotoVersionError",
    "SimulatedServiceError",
    "check_moto_version",
    "get_embedded_engine",
    "open_embedded_runner",
    "reset_embedded_engine",
]
