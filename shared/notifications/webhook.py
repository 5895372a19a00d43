"""The notification and lifecycle endpoints' logic, host-agnostic and standard-library only (cold start matters):
it imports nothing but the standard library and the queue contracts (`shared/jobs/contracts.py`, the same).

What a POST gets (Graph's rules, reference/graph.md "Change notifications"):
- `?validationToken=…` → 200, `text/plain`, the decoded token and nothing else (`nosniff`: never rendered as HTML);
- not JSON, not `{"value": [...]}`, a wrong content type, a body over the limit, JSON nested deeper than a
  notification ever is, more than MAX_NOTIFICATIONS_PER_POST items → 4xx, never a 500;
- each notification: `clientState` compared in constant time with the secret, `subscriptionId` looked up in our
  Subscriptions table; forged or unknown ones are dropped and counted;
- the accepted ones become queue messages, one per mailbox (a POST batching twenty changes of one mailbox is one
  delta pass), keys only; answer 202. A lookup that fails answers 503 so Graph retries; a failed enqueue fails the
  invocation (the host answers 500), which Graph retries too;
- the same notification again within REPEAT_WINDOW_SECONDS (Graph's duplicate deliveries, or a captured POST
  replayed) is counted as `repeated` and queues nothing: the message the first one queued is read by a pass that
  starts after it arrived, so it already covers the change.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

from shared.jobs.contracts import ImportWork, encode

log = logging.getLogger(__name__)

PLAIN = "text/plain; charset=utf-8"
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
MAX_TOKEN_CHARS = 1024
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
# Graph's notifications nest 4 deep ({"value": [{"resourceData": {}}]}); the standard library's parser recurses,
# so `{"value":` and 100,000 `[` would end in a RecursionError (a 500) without this bound, checked before parsing.
MAX_JSON_DEPTH = 16
# Graph batches queued notifications into one POST ("may send multiple items in a single request", no number
# documented; about a thousand is what is seen). Beyond this the POST is refused unread (413): were it Graph's,
# its changes are still read by the next reconciliation pass from the delta link.
MAX_NOTIFICATIONS_PER_POST = 1_000
REPEAT_WINDOW_SECONDS = 10.0


@dataclass(frozen=True)
class SubscriptionRef:
    """Whose mailbox a subscription watches (from our Subscriptions table)."""

    user_id: str
    mailbox_id: str


# subscription id -> its owner, None when unknown; raises when the table cannot be read.
Lookup = Callable[[str], SubscriptionRef | None]


@dataclass
class WebhookAnswer:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": PLAIN, **SAFE_HEADERS})
    messages: list[str] = field(default_factory=list)  # for the import queue
    accepted: int = 0
    forged: int = 0
    unknown: int = 0
    malformed: int = 0
    repeated: int = 0


class RecentNotifications:
    """The notifications this process accepted in the last few seconds, to recognise the same one again.

    Per process (each instance has its own), bounded, thread-safe. Only a notification that names its change
    exactly (an event's etag, or a lifecycle event) can be recognised; the others always queue their pass.
    """

    def __init__(
        self, *, window_seconds: float = REPEAT_WINDOW_SECONDS, capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._window = window_seconds
        self._capacity = capacity
        self._clock = clock
        self._seen: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: Hashable) -> bool:
        """True (and remembered) unless `key` was seen within the window."""
        now = self._clock()
        with self._lock:
            while self._seen and (len(self._seen) >= self._capacity or next(iter(self._seen.values())) <= now):
                self._seen.popitem(last=False)  # oldest first: entries are kept in the order they expire
            if key in self._seen:
                return False
            self._seen[key] = now + self._window
            return True


def _change_key(item: Mapping[str, object], subscription_id: str) -> Hashable | None:
    """What makes a notification the same one again: its subscription, change and the event's version."""
    event = item.get("lifecycleEvent")
    if isinstance(event, str):
        return ("lifecycle", subscription_id, event, str(item.get("subscriptionExpirationDateTime", "")))
    data = item.get("resourceData")
    etag = data.get("@odata.etag") if isinstance(data, dict) else None
    if not isinstance(etag, str) or not etag:
        return None  # two different updates of one event would look alike: never collapse them
    return ("change", subscription_id, str(item.get("changeType", "")), str(item.get("resource", "")), etag)


def _refuse(status: int, reason: str) -> WebhookAnswer:
    return WebhookAnswer(status, reason)


def _same_secret(presented: object, secret: str) -> bool:
    if not isinstance(presented, str):
        return False
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), secret.encode("utf-8"))


def _items(headers: Mapping[str, str], body: bytes, max_body_bytes: int) -> list[object] | WebhookAnswer:
    if len(body) > max_body_bytes:
        return _refuse(413, "body too large")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        return _refuse(415, "expected application/json")
    if not _nesting_within(body, MAX_JSON_DEPTH):
        return _refuse(400, f"body is not a notification (JSON nested deeper than {MAX_JSON_DEPTH})")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _refuse(400, "body is not JSON")
    if not isinstance(document, dict) or not isinstance(document.get("value"), list):
        return _refuse(400, 'expected {"value": [...]}')
    items: list[object] = document["value"]
    if len(items) > MAX_NOTIFICATIONS_PER_POST:
        return _refuse(413, f"more than {MAX_NOTIFICATIONS_PER_POST} notifications in one POST")
    return items


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_INNERMOST = re.compile(rb"[\[{][^\[\]{}]*[\]}]")


def _nesting_within(body: bytes, limit: int) -> bool:
    """True when no bracket in `body` (outside strings) is nested deeper than `limit`. Without recursion: each
    round removes every innermost pair, so a document `limit` deep is gone after `limit` rounds; brackets left
    over are deeper (or unbalanced, which the parser refuses anyway)."""
    text = _JSON_STRING.sub(b'""', body)
    for _ in range(limit):
        text, removed = _INNERMOST.subn(b"", text)
        if not removed:
            break
    return not any(bracket in text for bracket in (b"[", b"]", b"{", b"}"))


def validation_answer(params: Mapping[str, str]) -> WebhookAnswer | None:
    """Graph's handshake: echo the (already URL-decoded) token as plain text, or None when this is no handshake."""
    token = params.get("validationToken")
    if token is None:
        return None
    if len(token) > MAX_TOKEN_CHARS:
        return _refuse(400, "validationToken too long")
    return WebhookAnswer(200, token)


def handle_notifications(
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    client_state: str,
    lookup: Lookup,
    max_body_bytes: int,
    recent: RecentNotifications | None = None,
    now: dt.datetime | None = None,
) -> WebhookAnswer:
    """Answer one POST to the notification URL (see the module docstring)."""
    parsed = _open(params, headers, body, max_body_bytes)
    if isinstance(parsed, WebhookAnswer):
        return parsed
    answer = WebhookAnswer(202)
    received = now or dt.datetime.now(dt.UTC)
    per_mailbox: dict[SubscriptionRef, str] = {}
    for item in parsed:
        owner = _accept(item, client_state, lookup, answer, recent)
        if owner is not None:
            per_mailbox.setdefault(owner[0], owner[1])
    for ref, subscription_id in per_mailbox.items():
        answer.messages.append(_work(ref, "notification", subscription_id, received))
    _log(answer, "notifications")
    return answer


def handle_lifecycle(
    params: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    client_state: str,
    lookup: Lookup,
    max_body_bytes: int,
    recent: RecentNotifications | None = None,
    now: dt.datetime | None = None,
) -> WebhookAnswer:
    """Answer one POST to the lifecycle URL: each accepted event becomes a message the import worker acts on."""
    parsed = _open(params, headers, body, max_body_bytes)
    if isinstance(parsed, WebhookAnswer):
        return parsed
    answer = WebhookAnswer(202)
    received = now or dt.datetime.now(dt.UTC)
    for item in parsed:
        event = item.get("lifecycleEvent") if isinstance(item, dict) else None
        if event not in LIFECYCLE_EVENTS:
            answer.malformed += 1
            continue
        owner = _accept(item, client_state, lookup, answer, recent)
        if owner is not None:
            answer.messages.append(_work(owner[0], str(event), owner[1], received))
    _log(answer, "lifecycle")
    return answer


def _open(
    params: Mapping[str, str], headers: Mapping[str, str], body: bytes, max_body_bytes: int
) -> list[object] | WebhookAnswer:
    """The validation handshake's answer, a refusal, or the notification items to look at."""
    handshake = validation_answer(params)
    if handshake is not None:
        return handshake
    return _items(headers, body, max_body_bytes)


def _work(owner: SubscriptionRef, reason: str, subscription_id: str, received: dt.datetime) -> str:
    """An import-queue message: keys only."""
    return encode(ImportWork(owner.user_id, owner.mailbox_id, reason, subscription_id, received))


def _accept(
    item: object, client_state: str, lookup: Lookup, answer: WebhookAnswer, recent: RecentNotifications | None
) -> tuple[SubscriptionRef, str] | None:
    if not isinstance(item, dict) or not isinstance(item.get("subscriptionId"), str):
        answer.malformed += 1
        return None
    if not _same_secret(item.get("clientState"), client_state):
        answer.forged += 1
        return None
    subscription_id: str = item["subscriptionId"]
    owner = lookup(subscription_id)
    if owner is None:
        answer.unknown += 1
        return None
    key = _change_key(item, subscription_id) if recent is not None else None
    if recent is not None and key is not None and not recent.first_time(key):
        answer.repeated += 1
        return None
    answer.accepted += 1
    return owner, subscription_id


def _log(answer: WebhookAnswer, what: str) -> None:
    level = logging.WARNING if answer.forged or answer.unknown or answer.malformed else logging.INFO
    log.log(level, f"graph {what} received", extra={"accepted": answer.accepted, "forged": answer.forged,
            "unknown": answer.unknown, "malformed": answer.malformed, "repeated": answer.repeated,
            "messages": len(answer.messages)})  # fmt: skip
