"""The filter-set cache of OAuth 2.0 access tokens (Oracle, "Filter Set Cache Refresh", article_0605024149;
Read attribute `clear_filter_cache`, added 11 Oct 2025: "Read Attributes", article_1120021808).

With an access token, reads do not include objects created after the token's filter-set cache was generated —
when the token was issued — until a Read carries `clear_filter_cache="1"`, which regenerates it (for that
token and API only). Password logins have no such cache. The simulator issues its seed tokens when it starts
(or is reset).
"""

from __future__ import annotations

import datetime as dt
import threading


class FilterSetCache:
    def __init__(self) -> None:
        self._generated: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def issued(self, token: str, at: dt.datetime) -> None:
        """A token issued at `at`: its cache knows the objects created until then."""
        with self._lock:
            self._generated[token] = at

    def refresh(self, token: str, at: dt.datetime) -> None:
        with self._lock:
            self._generated[token] = at

    def generated(self, token: str) -> dt.datetime | None:
        with self._lock:
            return self._generated.get(token)

    def clear(self) -> None:
        with self._lock:
            self._generated.clear()
