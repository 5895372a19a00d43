"""The one rule for table calls made by async code: they run on a worker thread, never on the event loop.

azure-data-tables' client is synchronous: a table round trip made on the event loop stalls every other coroutine
of the worker (one mailbox's Graph writes wait on another mailbox's table read). Async code therefore reaches
Table Storage only through `off_loop`, and a sequence of table calls with no awaits between them goes to the
thread as one function (one hop, not one per call). Synchronous code (the command line, tests) calls the store
directly. The in-memory twin (`twins/tables.py`) can refuse a call made on a running loop's thread (`off_loop_only`),
which is how the tests hold every worker to this rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def off_loop(call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`call(*args, **kwargs)` on a worker thread (the default executor); the event loop keeps running meanwhile."""
    return await asyncio.to_thread(call, *args, **kwargs)
