"""Packages whose ``__init__`` the embedded engine puts off until something uses the package itself.

moto's Step Functions interpreter imports ``moto.batch.utils`` for one enum (``JobStatus``), and
``moto/batch/__init__.py`` imports Batch's models, which import EC2's: about 1.4 s of the 2.3 s
the first embedded run took, for a service MAOO never calls. A deferred package is registered
without running its ``__init__``; its submodules import as usual (``moto.batch.utils`` loads
from the package's folder), and the first attribute asked of the package itself (moto's backend
loader asking for ``batch_backends``, say) runs the real ``__init__`` then and answers.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType

_lock = threading.Lock()


def defer_package_init(name: str) -> bool:
    """Register package ``name`` with its ``__init__`` deferred. False, and nothing done, if it is
    already imported or cannot be found."""
    with _lock:
        if name in sys.modules:
            return False
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return False
        module = importlib.util.module_from_spec(spec)

        def __getattr__(attribute: str):  # noqa: N807 - the module-level hook of PEP 562
            if attribute.startswith("__"):
                raise AttributeError(attribute)
            _run_init(module)
            return getattr(module, attribute)

        module.__dict__["__getattr__"] = __getattr__
        sys.modules[name] = module
        return True


def _run_init(module: ModuleType) -> None:
    with _lock:
        if "__getattr__" not in module.__dict__:  # another thread ran it
            return
        del module.__getattr__
        spec = module.__spec__
        assert spec is not None and spec.loader is not None  # defer_package_init registers no other kind
        spec.loader.exec_module(module)
