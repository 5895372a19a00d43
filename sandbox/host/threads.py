"""The threads of local hosts: each is named with one prefix, so a test session can check none outlived its host."""

from __future__ import annotations

import threading
import time

THREAD_PREFIX = "host-"


def host_threads(grace: float = 0.0) -> list[threading.Thread]:
    """The local-host threads still alive, after waiting up to `grace` seconds for them to end."""
    deadline = time.monotonic() + grace
    while True:
        alive = [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
        remaining = deadline - time.monotonic()
        if not alive or remaining <= 0:
            return alive
        alive[0].join(timeout=remaining)
