"""Who is calling: API key and namespace, password or OAuth token login, and per-account request limits.

Codes as Oracle's error-code page lists them (also transcribed in openair-xml-php `Commands/Auth.php`): 413 key not
API-enabled, 412 wrong namespace, 403 no company name supplied, 404 no user name supplied, 405 no password
supplied, 406 invalid company name, 401 no such company/user/password (an unknown user; also an invalid access
token, which fails even with a valid password beside it), 408 bad password, 409 account cancelled, 410 inactive
user, 415 account archived, 416 user locked, 556 frequency limit — all answered on Auth. The transient ones
(419 "authentication failed, please retry", 422 "LDAP server unavailable") and 420/421 come from queued faults.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element


@dataclass
class Account:
    company: str
    user: str
    password: str
    api_key: str
    access_tokens: Sequence[str] = ()
    namespace: str = "default"
    active: bool = True
    state: str = ""  # "", or cancelled | archived | locked: the account or user can no longer sign in
    rate_per_minute: int | None = None  # None: the simulator-wide setting
    rate_per_day: int | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Account:
        return cls(
            company=str(data["company"]),
            user=str(data["user"]),
            password=str(data.get("password", "")),
            api_key=str(data.get("api_key", "")),
            access_tokens=tuple(str(t) for t in data.get("access_tokens", ())),
            namespace=str(data.get("namespace", "default")),
            active=bool(data.get("active", True)),
            state=str(data.get("state", "")),
            rate_per_minute=data.get("rate_per_minute"),
            rate_per_day=data.get("rate_per_day"),
        )

    @property
    def key(self) -> str:
        return f"{self.company}/{self.user}"


@dataclass(frozen=True)
class AuthResult:
    status: int
    message: str = ""
    account: Account | None = None
    token: str | None = None  # the access token it logged in with (None: password login)


def authenticate(accounts: Sequence[Account], request: Element) -> AuthResult:
    """Check the envelope and the `<Auth><Login>` against the accounts."""
    key = request.get("key", "")
    keyed = [a for a in accounts if a.api_key and a.api_key == key]
    if not keyed:
        return AuthResult(413, "API access not enabled for this key")
    if not any(a.namespace == request.get("namespace", "") for a in keyed):
        return AuthResult(412, "invalid namespace")
    keyed = [a for a in keyed if a.namespace == request.get("namespace", "")]
    login = request.find("Auth/Login")
    if login is None:
        return AuthResult(2, "not logged in")
    token = (login.findtext("access_token") or "").strip()
    if login.find("access_token") is not None:
        account = next((a for a in keyed if token and token in a.access_tokens), None)
        if account is None:
            return AuthResult(401, "invalid access token")
        result = _active(account)
        return AuthResult(result.status, result.message, result.account, token) if result.status == 0 else result
    company = (login.findtext("company") or "").strip()
    user = (login.findtext("user") or "").strip()
    password = login.findtext("password") or ""
    if not company:
        return AuthResult(403, "no company name supplied")
    if not user:
        return AuthResult(404, "no user name supplied")
    if not password:
        return AuthResult(405, "no password supplied")
    same_company = [a for a in keyed if a.company.lower() == company.lower()]
    if not same_company:
        return AuthResult(406, "invalid company name")
    account = next((a for a in same_company if a.user.lower() == user.lower()), None)
    if account is None:
        return AuthResult(401, "no such company/user/password")
    if password != account.password:
        return AuthResult(408, "bad password")
    return _active(account)


_STATES = {"cancelled": (409, "account cancelled"), "archived": (415, "account archived"),
           "locked": (416, "user locked")}  # fmt: skip


def _active(account: Account) -> AuthResult:
    if account.state in _STATES:
        return AuthResult(*_STATES[account.state])
    if not account.active:
        return AuthResult(410, "inactive user")
    return AuthResult(0, account=account)


@dataclass
class RateLimiter:
    """Sliding 60 s and 24 h windows per account; only accepted requests count against them."""

    per_minute: int = 0  # 0 = unlimited
    per_day: int = 0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, collections.deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, account: Account) -> bool:
        minute = account.rate_per_minute if account.rate_per_minute is not None else self.per_minute
        day = account.rate_per_day if account.rate_per_day is not None else self.per_day
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(account.key, collections.deque())
            while seen and seen[0] <= now - 86_400:
                seen.popleft()
            last_minute = sum(1 for t in seen if t > now - 60)
            if (minute and last_minute >= minute) or (day and len(seen) >= day):
                return False
            seen.append(now)
            return True

    def remaining_today(self, account: Account) -> int | None:
        """Requests left in the account's 24-hour window (None: no daily limit set)."""
        day = account.rate_per_day if account.rate_per_day is not None else self.per_day
        if not day:
            return None
        now = self.clock()
        with self._lock:
            used = sum(1 for t in self._seen.get(account.key, ()) if t > now - 86_400)
        return max(day - used, 0)

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
