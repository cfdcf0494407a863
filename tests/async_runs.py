"""Running a coroutine function to completion from a test, in a thread of its own.

Playwright's sync API (the browser tests) leaves an event loop running in the main thread of the
pytest process for the rest of the session; ``anyio.run`` there refuses ("Already running asyncio
in this thread"). A fresh thread has no loop, whichever tests ran before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


def run_async(function: Callable[..., Awaitable[T]], *args: Any) -> T:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, function, *args).result()
