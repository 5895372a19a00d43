"""A thin Python client for the simulator's `/_sim/` control API (tests, the demo, benchmarks).

`GraphControl(root_url)` accepts the simulator's root URL (`http://127.0.0.1:PORT/v1.0`) or its control URL.
Acting as a user goes through Outlook's code path: changeKeys move and subscriptions are notified.
"""

from __future__ import annotations

from typing import Any

import httpx


class ControlError(RuntimeError):
    """The control API refused a request; the message carries its status and error body."""


class GraphControl:
    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        root = url.rstrip("/")
        root = root.removesuffix("/v1.0").removesuffix("/_sim")
        self._client = httpx.Client(base_url=root + "/_sim", timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GraphControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self._client.request(method, path, json=body)
        if answer.status_code >= 400:
            raise ControlError(f"{method} /_sim{path} -> {answer.status_code}: {answer.text}")
        return answer.json() if answer.content else None

    # ----- acting as the user in Outlook -----------------------------------------------------------------------

    def create_event(self, user: str, event: dict[str, Any]) -> dict[str, Any]:
        """Create an event as the user would in Outlook (a `recurrence` makes it a series)."""
        result: dict[str, Any] = self._call("POST", f"/mailboxes/{user}/events", event)
        return result

    def create_series(self, user: str, event: dict[str, Any], recurrence: dict[str, Any]) -> dict[str, Any]:
        return self.create_event(user, {**event, "recurrence": recurrence})

    def update_event(self, user: str, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Edit an event, or one occurrence of a series (which then becomes an exception)."""
        result: dict[str, Any] = self._call("PATCH", f"/mailboxes/{user}/events/{event_id}", changes)
        return result

    def delete_event(self, user: str, event_id: str) -> None:
        """Delete an event, or cancel one occurrence of a series."""
        self._call("DELETE", f"/mailboxes/{user}/events/{event_id}")

    def decline(self, user: str, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/mailboxes/{user}/events/{event_id}/decline")
        return result

    def make_private(self, user: str, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/mailboxes/{user}/events/{event_id}/private")
        return result

    def set_mailbox_state(self, user: str, state: str, *, code: str | None = None) -> dict[str, Any]:
        """Take the whole mailbox away or give it back, its events kept: "unlicensed" (404
        MailboxNotEnabledForRESTAPI, or `code="ResourceNotFound"`), "deleted" (404 ErrorInvalidUser, and the user
        leaves the directory) or "active"."""
        result: dict[str, Any] = self._call("POST", f"/mailboxes/{user}/state", {"state": state, "code": code})
        return result

    # ----- inspecting --------------------------------------------------------------------------------------------

    def events(self, user: str) -> list[dict[str, Any]]:
        """Every event in the mailbox with all properties, extended properties and series exceptions."""
        result: list[dict[str, Any]] = self._call("GET", f"/mailboxes/{user}/events")["value"]
        return result

    def event(self, user: str, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/mailboxes/{user}/events/{event_id}")
        return result

    def counters(self) -> dict[str, Any]:
        """{"http_total", "routes": {"GET /users/{id}/events": n}, "batch_items": {...}, "statuses": {...}}."""
        result: dict[str, Any] = self._call("GET", "/counters")
        return result

    def reset_counters(self) -> None:
        self._call("POST", "/counters/reset")

    def sent_mail(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/mail")["value"]
        return result

    def subscriptions(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/subscriptions")["value"]
        return result

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification/lifecycle POST attempt: url, kind, attempt, status, body."""
        result: list[dict[str, Any]] = self._call("GET", "/notifications")["value"]
        return result

    def wait_notifications(self, timeout: float = 10.0) -> bool:
        """True once every queued notification has been delivered or given up on."""
        return bool(self._call("POST", "/notifications/wait", {"timeout": timeout})["idle"])

    def validations(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/validations")["value"]
        return result

    # ----- steering ----------------------------------------------------------------------------------------------

    def expire_delta_tokens(self) -> int:
        return int(self._call("POST", "/delta/expire")["expired"])

    def lifecycle(self, subscription_id: str, event: str) -> None:
        """Send `missed`, `subscriptionRemoved` (also deletes it) or `reauthorizationRequired`."""
        self._call("POST", f"/subscriptions/{subscription_id}/lifecycle", {"event": event})

    def expire_subscription(self, subscription_id: str) -> None:
        self._call("POST", f"/subscriptions/{subscription_id}/expire")

    def add_fault(self, kind: str, *, count: int = 1, status: int = 503, seconds: float = 0.0,
                  method: str | None = None, path: str | None = None, mailbox: str | None = None,
                  retry_after: float | None = None, code: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Next `count` matching requests: "status" (answer `status`), "hang" (`seconds`), "close" (dropped unserved)
        or "lose" (carried out, then the connection drops before the answer)."""
        body = {"kind": kind, "count": count, "status": status, "seconds": seconds, "method": method,
                "path": path, "mailbox": mailbox, "retry_after": retry_after, "code": code}  # fmt: skip
        result: dict[str, Any] = self._call("POST", "/faults", body)
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def options(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/options")
        return result

    def set_options(self, **changes: Any) -> dict[str, Any]:
        """Latency, limits, Retry-After format, delta expiry answer, page sizes… (see sandbox/graph/options.py)."""
        result: dict[str, Any] = self._call("PATCH", "/options", changes)
        return result

    def reset(self, data: dict[str, Any] | None = None) -> None:
        """Back to the start data (or new data): events, subscriptions, tokens, faults, counters, mail."""
        self._call("POST", "/reset", {"data": data} if data is not None else {})
