"""The parsed definition, kept between processes.

moto's interpreter parses the ASL definition with ANTLR and turns the tree into evaluation
components: about 0.24 s of every cold ``python -m cli run``, for a result that only changes when
the definition or moto does. This cache keeps the components (and the variable references moto
works out from the tree) in a pickle under ``<runtime>/cache/``, named by a key over the
definition's text, moto's version, Python's version and this cache's format. A different
definition or moto gets a different key, so it is parsed afresh and cached under its own name;
a file that does not load, or whose key inside differs from its name, is ignored and replaced.

Only definitions that ``interpreter_speedups.unproven_features`` accepts are cached: their
executions share one set of components (see that module), so a cached set is used the same way
a freshly parsed one would be. The files are read only from the user's own runtime folder, which
already holds everything else MAOO runs on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1
_log = logging.getLogger("maoo")


@dataclass
class ParsedDefinition:
    """What moto would compute from a definition's text: its evaluation components and the
    variable references ``VariableReferencesStaticAnalyser.process_and_get`` returns."""

    program: Any
    variable_references: Any


def cache_key(definition: str, moto_version: str) -> str:
    """Names a cached parse: changes whenever the definition, moto, Python or this format does."""
    material = "\0".join([definition, moto_version, sys.version, str(FORMAT)])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


class DefinitionCache:
    """Parsed definitions as files in ``folder``, one per key."""

    def __init__(self, folder: Path, moto_version: str):
        self.folder = folder
        self.moto_version = moto_version

    def path_for(self, definition: str) -> Path:
        return self.folder / f"asl-{cache_key(definition, self.moto_version)}.pickle"

    def load(self, definition: str) -> ParsedDefinition | None:
        """The cached parse of ``definition``, or None (not cached, unreadable, or not its own)."""
        path = self.path_for(definition)
        try:
            with path.open("rb") as handle:
                stored = pickle.load(handle)
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a cache miss, rebuilt below
            _log.warning("embedded engine: ignoring the unreadable definition cache %s (%s)", path, exc)
            return None
        if not isinstance(stored, dict) or stored.get("key") != cache_key(definition, self.moto_version):
            return None
        parsed = stored.get("parsed")
        return parsed if isinstance(parsed, ParsedDefinition) else None

    def store(self, definition: str, parsed: ParsedDefinition) -> None:
        """Write the parse atomically; a folder that cannot be written only costs the next parse."""
        path = self.path_for(definition)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-asl-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(
                        {"key": cache_key(definition, self.moto_version), "parsed": parsed},
                        handle,
                        protocol=pickle.HIGHEST_PROTOCOL,
                    )
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            _log.warning(
                "embedded engine: could not cache the parsed definition in %s (%s)", path.parent, exc
            )
