"""The one seam through which an in-process engine makes the handlers faster; in Lambda it is empty.

A layer's answer is the whole ``RunState`` as JSON. In Lambda every invocation parses a new event,
so writing the state with pydantic is all there is to do, and that is what happens unless an
engine installs a writer. The embedded engine, which passes the same objects from state to state,
installs one that passes on the parts a state left as they were
(``embedded_engine.state_documents``). chalicelib holds no speed machinery of its own: what exists
only to make the embedded engine faster lives in ``embedded_engine/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

DocumentWriter = Callable[[BaseModel, BaseModel, Any], dict[str, Any]]
"""``(after, before, event) -> document``: must equal ``after.model_dump(mode="json")`` in every field."""

_installed: list[DocumentWriter] = []


def install_document_writer(writer: DocumentWriter | None) -> None:
    """Write every layer's answer with ``writer`` from now on (``None``: with pydantic again)."""
    _installed[:] = [writer] if writer is not None else []


def installed_document_writer() -> DocumentWriter | None:
    """The writer an engine installed, if any."""
    return _installed[0] if _installed else None


def state_document(after: BaseModel, before: BaseModel, event: Any) -> dict[str, Any]:
    """The answer of a state that read ``before`` from ``event`` and leaves ``after``, as JSON."""
    if _installed:
        return _installed[0](after, before, event)
    return after.model_dump(mode="json")
