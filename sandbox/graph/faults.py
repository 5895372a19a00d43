"""Injected failures: the next N matching requests answer an error status, hang, lose their connection, or are
carried out and then lose their answer (`lose`: the case a create's transactionId exists for).

Tests use these to prove the client retries 503/429, gives up on timeouts and survives dropped connections.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.graph.errors import GraphError

KINDS = ("status", "hang", "close", "lose")
_ids = itertools.count(1)


class CloseConnection(Exception):
    """Drop the TCP connection without answering."""


@dataclass
class Fault:
    kind: str
    count: int = 1
    status: int = 503
    code: str | None = None
    retry_after: float | None = None
    seconds: float = 0.0  # hang only
    method: str | None = None  # regex on the method
    path: str | None = None  # regex searched in the path (with query string), relative to /v1.0
    mailbox: str | None = None  # user id or UPN
    id: int = field(default_factory=lambda: next(_ids))

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Fault:
        allowed = {"kind", "count", "status", "code", "retry_after", "seconds", "method", "path", "mailbox"}
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}; allowed {sorted(allowed)}")
        fault = cls(**body)
        if fault.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}")
        if fault.count < 1:
            raise ValueError("fault count must be at least 1")
        for pattern in (fault.method, fault.path):
            if pattern is not None:
                re.compile(pattern)
        return fault

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def matches(self, method: str, path: str, mailbox: set[str]) -> bool:
        if self.method and not re.fullmatch(self.method, method, re.IGNORECASE):
            return False
        if self.path and not re.search(self.path, path):
            return False
        return not (self.mailbox and self.mailbox.lower() not in mailbox)

    def error(self) -> GraphError:
        headers = {}
        if self.retry_after is not None or self.status == 429:
            headers["Retry-After"] = str(self.retry_after if self.retry_after is not None else 1)
        codes = {429: "TooManyRequests", 503: "ServiceUnavailable", 504: "GatewayTimeout", 500: "InternalServerError"}
        code = self.code or codes.get(self.status, "UnknownError")
        return GraphError(self.status, code, f"Injected fault {self.id}: {code}.", headers)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired = 0

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def take(self, method: str, path: str, mailbox: set[str], *, allow_close: bool = True) -> Fault | None:
        """The first matching fault, consuming one of its uses (a `$batch` item cannot drop the connection)."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in ("close", "lose") and not allow_close:
                    continue
                if fault.matches(method, path, mailbox):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    self.fired += 1
                    return fault
        return None
