"""Delivering change notifications and lifecycle events, from a background worker, the way Graph does.

Changes are queued as they happen; the worker waits a short window, groups everything bound for one URL into one
POST (`{"value": [...]}`), and retries on 5xx, timeouts and connection errors with exponential back-off. A 4xx
is final. Every attempt is recorded so tests can count deliveries; optional duplicate deliveries prove the
receiver is idempotent.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.graph import timezones
from sandbox.graph.options import Options
from sandbox.graph.store import Change, Store
from sandbox.graph.subscriptions import Subscription, Subscriptions, is_loopback

LIFECYCLE_EVENTS = ("missed", "subscriptionRemoved", "reauthorizationRequired")


@dataclass(frozen=True)
class _Outgoing:
    url: str
    kind: str  # "notification" | "lifecycle"
    item: dict[str, Any]


class Notifier:
    def __init__(self, store: Store, subscriptions: Subscriptions, options: Options) -> None:
        self.store = store
        self.subscriptions = subscriptions
        self.options = options
        self._queue: queue.Queue[_Outgoing | None] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.deliveries: list[dict[str, Any]] = []  # one record per POST attempt
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="graph-sim-notify")
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._worker = threading.Thread(target=self._run, name="graph-sim-notifier", daemon=True)
        self._client = httpx.Client(timeout=options.notification_timeout_s, trust_env=False, verify=False)  # noqa: S501
        store.subscribe(self.on_change)
        self._worker.start()

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._worker.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def reset(self) -> None:
        with self._lock:
            self.deliveries.clear()

    def on_change(self, change: Change) -> None:
        """Store listener: queue one notification per active subscription on the changed mailbox."""
        kinds = [change.change_type]
        if change.change_type == "created":
            kinds += ["updated"] * self.options.updates_after_create
        for kind in kinds:
            for sub in self.subscriptions.active_for(change.mailbox, kind):
                self._enqueue(_Outgoing(sub.notification_url, "notification", self._notification(sub, change, kind)))

    def _notification(self, sub: Subscription, change: Change, kind: str) -> dict[str, Any]:
        resource = f"Users/{change.mailbox}/Events/{change.event_id}"
        return {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": timezones.format_instant(sub.expiration),
            "clientState": sub.client_state,
            "changeType": kind,
            "resource": resource,
            "tenantId": self.store.tenant_id,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "@odata.etag": f'W/"{change.change_key}"',
                "id": change.event_id,
            },
        }

    def lifecycle(self, sub_id: str, event: str) -> Subscription:
        """Send a lifecycle event for a subscription; `subscriptionRemoved` also deletes the subscription."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {LIFECYCLE_EVENTS}")
        sub = self.subscriptions.get(sub_id)
        if sub.lifecycle_url is None:
            raise ValueError(f"subscription {sub_id} has no lifecycleNotificationUrl")
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": timezones.format_instant(sub.expiration),
            "tenantId": self.store.tenant_id,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
        if event == "subscriptionRemoved":
            self.subscriptions.delete(sub_id)
        self._enqueue(_Outgoing(sub.lifecycle_url, "lifecycle", item))
        return sub

    def _enqueue(self, outgoing: _Outgoing) -> None:
        with self._lock:
            self._pending += 1
        self._queue.put(outgoing)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until everything queued has been delivered or given up on (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            # Graph batches notifications that arrive close together into one POST per URL.
            deadline = time.monotonic() + self.options.notification_batch_window_s
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    more = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if more is None:
                    self._stop.set()
                    break
                batch.append(more)
            groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for out in batch:
                groups.setdefault((out.url, out.kind), []).append(out.item)
            duplicates = self.options.duplicate_deliveries
            for (url, kind), items in groups.items():
                with self._lock:
                    self._pending += len(items) * duplicates
                for _ in range(1 + duplicates):
                    self._pool.submit(self._deliver, url, kind, items, len(items))

    def _deliver(self, url: str, kind: str, items: list[dict[str, Any]], count: int) -> None:
        try:
            self._post_with_retries(url, kind, items)
        finally:
            with self._idle:
                self._pending -= count
                self._idle.notify_all()

    def _post_with_retries(self, url: str, kind: str, items: list[dict[str, Any]]) -> None:
        body = {"value": items}
        for attempt in range(1, self.options.notification_attempts + 1):
            record: dict[str, Any] = {
                "url": url,
                "kind": kind,
                "attempt": attempt,
                "status": None,
                "body": body,
                "at": timezones.format_instant(self.store.now()),
            }
            with self._lock:
                self.deliveries.append(record)
            if self.options.loopback_only_delivery and not is_loopback(urllib.parse.urlsplit(url).hostname):
                record["error"] = "not delivered: the sandbox only reaches loopback"
                return
            try:
                started = time.monotonic()
                answer = self._client.post(url, json=body)
                record["status"] = answer.status_code
                record["seconds"] = round(time.monotonic() - started, 3)
                if answer.status_code < 500:
                    return  # 2xx delivered; 4xx is the receiver refusing, which Graph does not retry
            except httpx.HTTPError as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
            if self._stop.wait(self.options.notification_backoff_s * 2 ** (attempt - 1)):
                return
