"""One `api.pl` request end to end: faults, latency, parsing, Auth, rate limits, then each command in order.

HTTP concerns stay in `server.py`; this module maps a request body to (HTTP status, body, delay).
"""

from __future__ import annotations

import collections
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, SubElement

from sandbox.openair.auth import Account, RateLimiter, authenticate
from sandbox.openair.commands import Context, execute, label
from sandbox.openair.faults import FaultQueue
from sandbox.openair.form_script import FormScriptHook
from sandbox.openair.read import Options
from sandbox.openair.store import Store
from sandbox.openair.tokens import FilterSetCache
from sandbox.openair.wire import WireError, document, parse_request

# Control characters XML 1.0 does not allow; ElementTree writes them raw, as OpenAir is seen to.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")

AUTH_FAULTS = {
    556: "API request frequency limit reached",
    414: "account temporarily unavailable",
    419: "authentication failed, please retry",
    420: "authentication failed",
    421: "account misconfiguration or invalid assertion",
    422: "LDAP server unavailable",
}


@dataclass
class Answer:
    status: int
    body: bytes
    delay: float = 0.0  # seconds to wait before answering (slow fault)


@dataclass
class Stats:
    requests: int = 0
    by_command: collections.Counter[str] = field(default_factory=collections.Counter)
    rejected: collections.Counter[int] = field(default_factory=collections.Counter)  # Auth status -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "by_command": dict(self.by_command),
                "rejected": {str(k): v for k, v in self.rejected.items()},
            }

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.by_command.clear()
            self.rejected.clear()


class Service:
    def __init__(
        self, data: dict[str, Any], *, options: Options, limiter: RateLimiter, latency_ms: float = 0.0
    ) -> None:
        self.data = data
        self.options = options
        self.limiter = limiter
        self.latency_ms = latency_ms
        self.faults = FaultQueue()
        self.stats = Stats()
        self.form_script = FormScriptHook()  # kept across reset(), like the other settings
        self.tokens = FilterSetCache()
        self.reset()

    def reset(self) -> None:
        """Back to the seed data; counters, faults and rate windows cleared."""
        self.store = Store(self.data)
        self.accounts = [Account.from_data(a) for a in self.data.get("accounts", [])]
        self.tokens.clear()
        issued = self.store.tick()  # the seed tokens are issued now: their filter sets hold the seed records
        for account in self.accounts:
            for token in account.access_tokens:
                self.tokens.issued(token, issued)
        self.faults.clear()
        self.stats.reset()
        self.limiter.reset()

    def handle(self, body: bytes) -> Answer:
        with self.stats.lock:
            self.stats.requests += 1
        delay = self.latency_ms / 1000.0
        fault = self.faults.take()
        if fault is not None and fault.kind == "http":
            return Answer(fault.status, b"<html><body>Service Unavailable</body></html>", delay)
        if fault is not None and fault.kind == "malformed":
            return Answer(200, b'<?xml version="1.0"?>\n<response><Auth status="0"></Auth><Read status="0"><Boo', delay)
        if fault is not None and fault.kind == "slow":
            delay += fault.seconds
        auth_fault = 0
        if fault is not None and fault.kind in ("rate_limit", "auth"):
            auth_fault = 556 if fault.kind == "rate_limit" else fault.status
        answer = document(self._respond(body, auth_fault=auth_fault))
        if self.options.invalid_characters == "reference":
            answer = _CONTROL.sub(lambda m: f"&#{m.group(0)[0]};".encode(), answer)
        return Answer(200, answer, delay)

    def _respond(self, body: bytes, *, auth_fault: int) -> Element:
        try:
            request = parse_request(body)
        except WireError as exc:
            root = Element("response", {"status": str(exc.code)})
            root.text = exc.message
            return root
        commands = [c for c in request if c.tag != "Auth"]
        with self.stats.lock:
            self.stats.by_command.update(label(c) for c in commands)
        root = Element("response")
        result = authenticate(self.accounts, request)
        status, message = result.status, result.message
        if status == 0 and auth_fault:
            status, message = auth_fault, AUTH_FAULTS.get(auth_fault, "authentication failed")
        elif status == 0 and result.account is not None and not self.limiter.admit(result.account):
            status, message = 556, "API request frequency limit reached"
        auth = SubElement(root, "Auth", {"status": str(status)})
        if status != 0 or result.account is None:
            with self.stats.lock:
                self.stats.rejected[status] += 1
            if message:
                SubElement(auth, "errors").text = message
            return root
        ctx = Context(self.store, result.account, self.options, result.token, self.tokens, self.limiter)
        for command in commands:
            root.append(execute(command, ctx))
        return root
