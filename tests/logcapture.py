"""A handler on the root logger at DEBUG for the length of a test: every record any module logs reaches it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TypeVar

H = TypeVar("H", bound=logging.Handler)


@contextlib.contextmanager
def on_root(handler: H) -> Iterator[H]:
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
