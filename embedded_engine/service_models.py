"""botocore's service data, read from its JSON files once per machine instead of once per process.

A cold ``python -m cli run`` creates one Step Functions client, and moto loads the same service
model again for its response serialiser: botocore lists its data folders (hundreds of ``listdir``
and ``stat`` calls) and decodes several JSON files (the service model, endpoint rules, partitions,
retry and default settings), about 0.1 s of the run. These loaders keep what they read in a pickle
under ``<runtime>/cache/``, named for botocore's (and moto's) version and the loader's search
paths; a file that does not load or was written for other versions is ignored and replaced.

Each value is pickled the moment it is read, before anyone uses it (moto's loader merges its
extras into the model it loaded), and unpickled afresh in each process: a cached value is the
file's content as botocore would have decoded it.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import pickle
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader, instance_cache

_log = logging.getLogger("maoo")
_NOT_FOUND = "<not found>"  # stored for a data path no search path has


class DiskStore:
    """Pickled values read once from one file, and written back (atomically) at exit if new ones came."""

    def __init__(self, folder: Path, versions: str, search_paths: list[str]):
        self.identity = hashlib.sha256("\0".join([versions, *search_paths]).encode()).hexdigest()[:24]
        self.file = folder / f"service-models-{self.identity}.pickle"
        self._entries: dict[tuple[str, ...], bytes] = {}
        self._new = False
        self._lock = threading.Lock()
        try:
            with self.file.open("rb") as handle:
                stored = pickle.load(handle)
            if isinstance(stored, dict) and stored.get("identity") == self.identity:
                self._entries = stored["entries"]
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - an unreadable cache is a miss, rewritten at exit
            _log.warning(
                "embedded engine: ignoring the unreadable service-model cache %s (%s)", self.file, exc
            )
        atexit.register(self.save)

    def through(self, key: tuple[str, ...], read: Callable[[], Any]) -> Any:
        """The value stored under ``key`` (a fresh copy), else ``read()``'s, kept as it was read."""
        blob = self._entries.get(key)
        if blob is not None:
            return pickle.loads(blob)
        value = read()
        with self._lock:
            self._entries[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self._new = True
        return value

    def save(self) -> None:
        """Write what this process read that the file lacked; nothing new, nothing written."""
        with self._lock:
            if not self._new:
                return
            entries, self._new = dict(self._entries), False
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".tmp-models-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(
                        {"identity": self.identity, "entries": entries},
                        handle,
                        protocol=pickle.HIGHEST_PROTOCOL,
                    )
                os.replace(tmp, self.file)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            _log.warning("embedded engine: could not cache service models in %s (%s)", self.file.parent, exc)


class _ThroughDisk(Loader):
    """Loader methods that read botocore's files, answered from a ``DiskStore`` first."""

    store: DiskStore

    @instance_cache
    def list_available_services(self, type_name: str) -> Any:
        return self.store.through(
            ("services", type_name), lambda: super(_ThroughDisk, self).list_available_services(type_name)
        )

    @instance_cache
    def list_api_versions(self, service_name: str, type_name: str) -> Any:
        return self.store.through(
            ("versions", service_name, type_name),
            lambda: super(_ThroughDisk, self).list_api_versions(service_name, type_name),
        )

    @instance_cache
    def load_data_with_path(self, name: str) -> Any:
        def read() -> Any:
            try:
                return super(_ThroughDisk, self).load_data_with_path(name)
            except DataNotFoundError:
                return _NOT_FOUND  # extras most services lack: looked for once, not on every start

        found = self.store.through(("data", name), read)
        if found == _NOT_FOUND:
            raise DataNotFoundError(data_path=name)
        return found


class BotocoreModels(_ThroughDisk):
    """botocore's own loader, for the session the engine's boto3 client comes from."""

    def __init__(self, folder: Path):
        import botocore

        super().__init__()
        self.store = DiskStore(folder, f"botocore {botocore.__version__}", list(self.search_paths))


def moto_models(folder: Path, moto_version: str) -> Callable[[], Loader]:
    """A stand-in for moto's ``create_loader``: a new moto loader (botocore's plus moto's extras,
    which it merges into the models it loads) on each call, as moto's is, all sharing one store."""
    import botocore
    from moto.core.loaders import Loader as MotoLoader
    from moto.core.loaders import moto_root

    class MotoModels(_ThroughDisk, MotoLoader):
        pass

    first = MotoModels(extra_search_paths=[moto_root])
    store = DiskStore(
        folder, f"botocore {botocore.__version__} moto {moto_version}", list(first.search_paths)
    )

    def create_loader() -> Loader:
        loader = MotoModels(extra_search_paths=[moto_root])
        loader.store = store
        return loader

    return create_loader
