"""A tiny synchronous client of the simulator's `/_sim/` control API, for tests, the demo and benchmarks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class ControlError(Exception):
    pass


class SimulatorControl:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback simulator URL given by the caller
            f"{self.base_url}/_sim/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ControlError(
                f"{method} /_sim/{path}: HTTP {exc.code} {exc.read().decode(errors='replace')}"
            ) from None

    def health(self) -> bool:
        return bool(self._call("GET", "health").get("ok"))

    def stats(self) -> dict[str, Any]:
        """{"requests": total api.pl requests, "by_command": {"Read Booking": n, ...}, "rejected": {...}}."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def reset(self) -> None:
        """Seed data back; counters, faults and rate windows cleared."""
        self._call("POST", "reset")

    def inject(self, kind: str, count: int = 1, *, status: int = 503, seconds: float = 2.0) -> int:
        """Queue a fault (malformed | http | slow | rate_limit | auth) for the next `count` requests; returns pending.

        `status` is the HTTP status of an `http` fault, the Auth status of an `auth` fault (419, 422…)."""
        result = self._call("POST", "faults", {"kind": kind, "count": count, "status": status, "seconds": seconds})
        return int(result["pending"])

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """rate_per_minute, rate_per_day, latency_ms, filter_boundary, empty_read_status, invalid_characters,
        instant_offsets, corrupt (a list of {type, id, field, date: {year, month, ...} or text}; [] clears)."""
        result: dict[str, Any] = self._call("PATCH", "config", settings)
        return result

    def records(self, type_name: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"records/{type_name}")
        return result

    def get(self, type_name: str, record_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"records/{type_name}/{record_id}")
        return result

    def create(self, type_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a record as a user in the OpenAir UI would (no API request counted)."""
        result: dict[str, Any] = self._call("POST", f"records/{type_name}", fields)
        return result

    def modify(self, type_name: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PATCH", f"records/{type_name}/{record_id}", fields)
        return result

    def form_script(self, url: str, secret: str = "", function_key: str = "") -> dict[str, Any]:
        """Switch the "After save" form script hook on (url, secret, function key) or off (url "")."""
        result: dict[str, Any] = self._call("PATCH", "form-script", {"url": url, "secret": secret,
                                                                     "function_key": function_key})  # fmt: skip
        return result

    def form_script_state(self) -> dict[str, Any]:
        """{"url", "secret_set", "function_key_set", "posted", "failed", "last_status", "last_error"}."""
        result: dict[str, Any] = self._call("GET", "form-script")
        return result

    def age_deletions(self, days: float, type_name: str | None = None, record_id: str | None = None) -> int:
        """Make deleted records look deleted `days` earlier; older than 180 days, OpenAir has purged them and
        `deleted="1"` reads no longer return them. Returns how many records moved."""
        body: dict[str, Any] = {"days": days}
        if type_name is not None:
            body["type"] = type_name
        if record_id is not None:
            body["id"] = record_id
        return int(self._call("POST", "deleted/age", body)["aged"])

    def delete(self, type_name: str, record_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("DELETE", f"records/{type_name}/{record_id}")
        return result
