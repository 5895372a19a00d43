"""One error tree: every exception the product defines is a `SyncError` (shared/errors.py draws the tree)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import shared
from shared.errors import BadMessage, Incomplete, SyncError
from shared.push import PushRefused
from shared.store.lease import LeaseLost
from shared.sync.importing.engine import ImportIncomplete
from shared.sync.mailbox import MailboxIncomplete

# Private classes never leave their module. (The in-memory twins live outside `shared/`, in `twins/`: their
# injected faults stand for a foreign failure, not for anything the product raises.)


def _product_exceptions() -> list[type[BaseException]]:
    found = []
    for module_info in pkgutil.walk_packages(shared.__path__, "shared."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__
                    and not name.startswith("_")):  # fmt: skip
                found.append(value)
    return found


def test_every_exception_the_product_defines_is_in_the_tree() -> None:
    found = _product_exceptions()
    assert len(found) > 20  # the walk did see the product
    assert [f"{e.__module__}.{e.__qualname__}" for e in found if not issubclass(e, SyncError)] == []


def test_the_signals_are_branches_of_the_tree() -> None:
    assert issubclass(MailboxIncomplete, Incomplete)
    assert issubclass(ImportIncomplete, Incomplete)
    assert issubclass(LeaseLost, Incomplete)
    assert issubclass(PushRefused, SyncError)
    assert issubclass(BadMessage, ValueError)  # kept: handlers written for ValueError still catch it
