"""Every knob of the simulator in one typed object; CLI flags and the control API both set these.

Defaults follow the reference (reference/graph.md). Where Graph's behaviour is unconfirmed the knob lets a test
choose, and the default is the documented or most commonly observed answer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

RETRY_AFTER_FORMATS = ("integer", "decimal", "http-date")
DELTA_EXPIRED_CODES = ("syncStateNotFound", "resyncRequired")


@dataclass
class Options:
    token: str | None = None  # None: any bearer token is accepted
    latency_ms: float = 0.0
    # Exchange Online: 4 concurrent requests and 10,000 requests / 10 minutes per app per mailbox.
    mailbox_concurrency: int = 4
    mailbox_budget: int = 10_000
    budget_window_s: float = 600.0
    retry_after_format: str = "decimal"  # Graph sends seconds, sometimes decimal ("2.128"), or an HTTP date
    concurrency_retry_after_s: float = 1.0
    # Pages: Graph's default page for events and calendarView is 10; users 100.
    events_page_size: int = 10
    delta_page_size: int = 10
    users_page_size: int = 100
    # Expired delta state: 410 Gone + Location (the documented answer), or 400/404 with SyncStateNotFound.
    delta_expired_status: int = 410
    # Its error code: syncStateNotFound, or resyncRequired ("the delta token is no longer valid, and the app must
    # reset the sync state", learn.microsoft.com/graph/errors), which Graph may send with 400 or 410.
    delta_expired_code: str = "syncStateNotFound"
    # A POST repeating a transactionId already used in the mailbox (even by an event deleted since) is refused with
    # ErrorDuplicateTransactionId: seen as 400, some clients report 409 (alcionai/corso#2490; no Microsoft page).
    duplicate_transaction_status: int = 400
    # calendarView/delta also lists @removed for events outside the window that were added, deleted or updated
    # (learn.microsoft.com/graph/api/event-delta): an @removed is no proof of a deletion inside the window.
    removed_outside_window: bool = True
    # Whether cancelling one occurrence of a series shows in delta (its @removed, the series' new change key).
    # Reported to give no delta signal at all (microsoft-graph-docs PR #4501, unconfirmed): off, nothing shows.
    occurrence_delete_signal: bool = True
    text_body_as_html: bool = True  # Graph returns bodies as HTML unless Prefer: outlook.body-content-type="text"
    # Subscriptions and notifications.
    max_subscription_minutes: int = 10_080
    max_subscriptions_per_mailbox: int = 1000
    validation_timeout_s: float = 10.0
    notification_batch_window_s: float = 0.05
    notification_timeout_s: float = 3.0
    notification_attempts: int = 5
    notification_backoff_s: float = 0.2
    duplicate_deliveries: int = 0  # extra copies of every notification POST, to prove the receiver is idempotent
    updates_after_create: int = 0  # extra `updated` notifications after each create, as Graph often sends
    # Writing a mailbox's master category list needs MailboxSettings.ReadWrite; false answers 403 as Graph does
    # for an app without it. A repeated displayName is refused (names are unique per mailbox); its status is not
    # documented, so it is switchable.
    mailbox_settings_writable: bool = True
    duplicate_category_status: int = 409
    # Exchange RBAC for Applications: an app whose Exchange permissions are granted for a management scope (and not
    # consented tenant-wide in Entra) gets 403 ErrorAccessDenied for every mailbox outside it
    # (learn.microsoft.com/exchange/permissions-exo/application-rbac). None: unscoped, every mailbox answers.
    # Ids or userPrincipalNames of the mailboxes in scope.
    access_scope: list[str] | None = None
    # The sandbox must never reach beyond loopback, even for an https notificationUrl.
    loopback_only_delivery: bool = True
    # Graph accepts only https notification and lifecycle URLs. Local test endpoints speak plain http on loopback,
    # so a test that subscribes one must say so by switching this on.
    allow_http_loopback_webhooks: bool = False

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, refusing unknown names and wrong types."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        for name, value in changes.items():
            if name not in fields:
                raise ValueError(f"unknown option {name!r}; known: {sorted(fields)}")
            current = getattr(self, name)
            if isinstance(current, bool) and not isinstance(value, bool):
                raise ValueError(f"option {name!r} must be true or false")
            if (
                isinstance(current, int | float)
                and not isinstance(current, bool)
                and not isinstance(value, int | float)
            ):
                raise ValueError(f"option {name!r} must be a number")
            if name == "access_scope" and not (
                value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            ):
                raise ValueError("access_scope must be null or a list of mailbox ids or userPrincipalNames")
            if name == "retry_after_format" and value not in RETRY_AFTER_FORMATS:
                raise ValueError(f"retry_after_format must be one of {RETRY_AFTER_FORMATS}")
            if name == "delta_expired_status" and value not in (400, 404, 410):
                raise ValueError("delta_expired_status must be 400, 404 or 410")
            if name == "delta_expired_code" and value not in DELTA_EXPIRED_CODES:
                raise ValueError(f"delta_expired_code must be one of {DELTA_EXPIRED_CODES}")
            if name == "duplicate_transaction_status" and value not in (400, 409):
                raise ValueError("duplicate_transaction_status must be 400 or 409")
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "token"}
