"""Faults queued through the control API, each applied to the next N `api.pl` requests in order.

Kinds: `malformed` (HTTP 200 with a truncated XML body), `http` (an HTTP error status, default 503),
`slow` (answer only after `seconds`, to trip a client timeout), `rate_limit` (556 on Auth), `auth` (Auth answers
`status`: 419 "authentication failed, please retry", 420, 421, 422 "LDAP server unavailable", 414…).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

KINDS = ("malformed", "http", "slow", "rate_limit", "auth")


@dataclass
class Fault:
    kind: str
    remaining: int = 1
    status: int = 503
    seconds: float = 2.0

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Fault:
        kind = str(body.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
        count = int(body.get("count", 1))
        if count < 1:
            raise ValueError("count must be at least 1")
        if kind == "auth" and not 401 <= int(body.get("status", 0)) <= 423:
            raise ValueError("an auth fault needs a status from 401 to 423")
        return cls(kind, count, int(body.get("status", 503)), float(body.get("seconds", 2.0)))


class FaultQueue:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> int:
        with self._lock:
            self._faults.append(fault)
            return sum(f.remaining for f in self._faults)

    def take(self) -> Fault | None:
        """The fault for this request, if any (consuming one of its repetitions)."""
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.pop(0)
            return Fault(fault.kind, 1, fault.status, fault.seconds)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)
