"""The notification and lifecycle endpoints' logic, host-agnostic and standard-library only (cold start matters).

What a POST gets (Graph's rules, reference/graph.md "Change notifications"):
- `?validationToken=…` → 200, `text/plain`, the decoded token and nothing else (`nosniff`: never rendered as HTML);
- not JSON, not `{"value": [...]}`, a wrong content type, a body over the limit → 4xx, never a 500;
- each notification: `clientState` compared in constant time with the secret, `subscriptionId` looked up in our
  Subscriptions table; forged or unknown ones are dropped and counted;
- the accepted ones become queue messages, one per mailbox (a POST batching twenty changes of one mailbox is one
  delta pass), keys only; answer 202. A lookup that fails answers 503 so Graph retries; a failed enqueue fails the
  invocation (the host answers 500), which Graph retries too.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

IMPORT_QUEUE = "import-mailbox"  # the import worker's queue (keys only, one message per mailbox)
PLAIN = "text/plain; charset=utf-8"
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
MAX_TOKEN_CHARS = 1024
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


@dataclass(frozen=True)
class SubscriptionRef:
    """Whose mailbox a subscription watches (from our Subscriptions table)."""

    user_id: str
    mailbox_id: str


# subscription id -> its owner, None when unknown; raises when the table cannot be read.
Lookup = Callable[[str], SubscriptionRef | None]


class LookupFailed(Exception):
    """The Subscriptions table could not be read: answer 503 so Graph retries."""


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
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _refuse(400, "body is not JSON")
    if not isinstance(document, dict) or not isinstance(document.get("value"), list):
        return _refuse(400, 'expected {"value": [...]}')
    items: list[object] = document["value"]
    return items


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
    now: dt.datetime | None = None,
) -> WebhookAnswer:
    """Answer one POST to the notification URL (see the module docstring)."""
    parsed = _open(params, headers, body, max_body_bytes)
    if isinstance(parsed, WebhookAnswer):
        return parsed
    answer = WebhookAnswer(202)
    received = (now or dt.datetime.now(dt.UTC)).isoformat()
    per_mailbox: dict[SubscriptionRef, str] = {}
    for item in parsed:
        owner = _accept(item, client_state, lookup, answer)
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
    now: dt.datetime | None = None,
) -> WebhookAnswer:
    """Answer one POST to the lifecycle URL: each accepted event becomes a message the import worker acts on."""
    parsed = _open(params, headers, body, max_body_bytes)
    if isinstance(parsed, WebhookAnswer):
        return parsed
    answer = WebhookAnswer(202)
    received = (now or dt.datetime.now(dt.UTC)).isoformat()
    for item in parsed:
        event = item.get("lifecycleEvent") if isinstance(item, dict) else None
        if event not in LIFECYCLE_EVENTS:
            answer.malformed += 1
            continue
        owner = _accept(item, client_state, lookup, answer)
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


def _work(owner: SubscriptionRef, reason: str, subscription_id: str, received: str) -> str:
    """An import-queue message: keys only."""
    return json.dumps({"user_id": owner.user_id, "mailbox_id": owner.mailbox_id, "reason": reason,
                       "subscription_id": subscription_id, "received_at": received})  # fmt: skip


def _accept(
    item: object, client_state: str, lookup: Lookup, answer: WebhookAnswer
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
    answer.accepted += 1
    return owner, subscription_id


def _log(answer: WebhookAnswer, what: str) -> None:
    level = logging.WARNING if answer.forged or answer.unknown or answer.malformed else logging.INFO
    log.log(level, f"graph {what} received", extra={"accepted": answer.accepted, "forged": answer.forged,
            "unknown": answer.unknown, "malformed": answer.malformed, "messages": len(answer.messages)})  # fmt: skip
