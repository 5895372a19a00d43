"""Event writes (and bulk reads) for one mailbox through JSON `$batch`, within the mailbox's concurrency limit.

How the numbers fit together:
- A `$batch` carries at most 20 requests; Outlook executes them four at a time. One batch in flight
  therefore already keeps four requests running in the mailbox, which is Exchange's per-app limit
  (GRAPH_MAX_IN_FLIGHT_PER_MAILBOX, at most 4). So each mailbox gets ONE batch in flight at a time; a
  second one would make eight concurrent requests and earn 429 MailboxConcurrency. With a lower setting
  (1–3) the batches shrink to that many items, since a batch of n items runs min(n, 4) at once.
- Inner responses come back in any order and each may be its own 429 (SDKs do not retry those). Throttled
  (429/503/504) items go to the front of the queue and are sent again after the longest `Retry-After` of
  the batch, as long as each item's waits fit GRAPH_RETRY_BUDGET_SECONDS; past that, the 429 is the
  item's result. Every other answer is the item's final result: one failure never sinks the batch.
- A `$batch` request that got no answer at all (connection reset) is sent again with back-off, within the
  budget: every write is idempotent. If the whole `$batch` still fails, or fails with an HTTP error the
  HTTP layer already retried, that failure becomes the result of every item not yet answered, so no write
  is lost or left without a result.

The SDK's `client.batch.post` cannot be used as it is: its BatchResponseItem reads each inner body with
`get_bytes_value()`, which returns None for a JSON object, losing the created event's id and every error
message. We build the `$batch` JSON ourselves as plain data, the same JSON the SDK's `BatchRequestContent` would
write (event writes: `write_item`; other requests, such as reads, from the SDK's RequestInformation:
`sdk_item`), because building it through SDK models and the serialization writer cost ~0.5 ms of CPU per item,
most of the export's CPU. The request is still sent by the SDK's request adapter (authentication, the retry and
throttling middleware); we read the raw answer ourselves.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from shared.domain.events import CreateEvent, DeleteEvent, EventWrite, UpdateEvent, WriteResult
from shared.graph import failures
from shared.graph.errors import GraphError
from shared.graph.limits import MailboxLimiter
from shared.graph.middleware import Sleep
from shared.graph.render import event_json
from shared.graph.retry import RetryPolicy, backoff_delay

MAX_BATCH_REQUESTS = 20  # Graph's limit per $batch
OUTLOOK_BATCH_PARALLELISM = 4  # Outlook runs one batch's items four at a time


def batch_size(max_in_flight: int) -> int:
    """Items per batch so that one batch in flight stays within `max_in_flight` concurrent requests."""
    return MAX_BATCH_REQUESTS if max_in_flight >= OUTLOOK_BATCH_PARALLELISM else max(1, max_in_flight)


def slots_taken(items: int) -> int:
    """How many of the mailbox's concurrent-request slots a batch of `items` occupies while it runs."""
    return min(items, OUTLOOK_BATCH_PARALLELISM)


def relative_url(url: str, root: str) -> str:
    """An inner request's URL relative to the service root, as $batch requires.

    The SDK's RequestInformation.url turns absolute once the client has sent any request (the builders share
    their path parameters, into which the adapter writes `baseurl`), and BatchRequestItem.set_url leaves
    `/v1.0` in (its pattern, written as a JS regex literal, never matches), so we cut the root off ourselves.
    """
    root = root.rstrip("/")
    if url.startswith(root):
        url = url[len(root) :]
    return url if url.startswith("/") else f"/{url}"


def path_segment(value: str) -> str:
    """One path parameter as the SDK's URI templates expand it (RFC 6570 simple expansion: all but unreserved
    characters percent-encoded, UTF-8)."""
    return quote(value, safe="")


_JSON_HEADERS = {"accept": "application/json", "content-type": "application/json"}
_ACCEPT_HEADERS = {"accept": "application/json"}


def write_item(mailbox_id: str, write: EventWrite) -> dict[str, Any]:
    """One event write as a `$batch` item (without its id): method, URL relative to the service root, headers,
    body, key for key what the SDK's request builders and BatchRequestItem produce."""
    events = f"/users/{path_segment(mailbox_id)}/events"
    if isinstance(write, CreateEvent):
        body = event_json(write.draft, write.transaction_id)
        return {"method": "POST", "url": events, "depends_on": [], "headers": dict(_JSON_HEADERS), "body": body}
    url = f"{events}/{path_segment(write.event_id)}"
    if isinstance(write, UpdateEvent):
        body = event_json(write.draft)
        return {"method": "PATCH", "url": url, "depends_on": [], "headers": dict(_JSON_HEADERS), "body": body}
    assert isinstance(write, DeleteEvent)
    return {"method": "DELETE", "url": url, "depends_on": [], "headers": dict(_ACCEPT_HEADERS)}


def sdk_item(info: Any, root: str) -> dict[str, Any]:
    """A `$batch` item (without its id) from the SDK's RequestInformation, as BatchRequestItem serializes it."""
    method = info.http_method
    item: dict[str, Any] = {
        "method": getattr(method, "name", method),
        "url": relative_url(info.url.replace("/users/me-token-to-replace", "/me", 1), root),
        "depends_on": [],
        "headers": info.request_headers,
    }
    if info.content:
        document = json.loads(info.content)
        if document and isinstance(document, dict):
            item["body"] = document
        else:
            item["body"] = base64.b64encode(info.content).decode("utf-8")
    return item


def batch_payload(items: Sequence[dict[str, Any]]) -> bytes:
    """The `$batch` request body; items get their position as id."""
    return json.dumps({"requests": [{"id": str(n), **item} for n, item in enumerate(items)]}).encode("utf-8")


@dataclass(frozen=True)
class InnerResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: Any


def parse_batch_answer(raw: bytes | None) -> dict[str, InnerResponse]:
    """The inner responses of a `$batch` answer, by request id."""
    document = json.loads(raw or b"{}")
    out: dict[str, InnerResponse] = {}
    for item in document.get("responses") or []:
        headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        out[str(item.get("id"))] = InnerResponse(int(item.get("status") or 0), headers, item.get("body"))
    return out


def write_result(write: EventWrite, answer: InnerResponse) -> WriteResult:
    """One write's outcome from its inner response; a delete answered 404 is done (the event is gone)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if 200 <= answer.status < 300:
        event_id = body.get("id") or (None if isinstance(write, CreateEvent) else write.event_id)
        return WriteResult(write=write, status=answer.status, event_id=event_id, change_key=body.get("changeKey"))
    code, message = failures.from_body(answer.body)
    event_id = None if isinstance(write, CreateEvent) else write.event_id
    return WriteResult(write=write, status=answer.status, event_id=event_id, error_code=code, error_message=message)


def failed_result(write: EventWrite, error: GraphError) -> WriteResult:
    event_id = None if isinstance(write, CreateEvent) else write.event_id
    return WriteResult(
        write=write, status=error.status, event_id=event_id, error_code=error.code, error_message=str(error)
    )


# Graph answers every item; if one is missing we report it rather than guess whether it ran.
_NO_ANSWER = InnerResponse(502, {}, {"error": {"code": "MissingBatchResponse", "message": "no answer for this item"}})


Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Pending(Generic[Item]):
    index: int
    item: Item
    attempts: int = 0
    waited: float = 0.0


@dataclass(frozen=True)
class BatchedRequest(Generic[Item, Result]):
    """What one kind of batched request needs: its SDK request, and its result from an answer or a failure."""

    request: Callable[[Item], Any]  # a `$batch` item (dict, see write_item), or the SDK's RequestInformation
    answered: Callable[[Item, InnerResponse], Result]
    failed: Callable[[Item, GraphError], Result]


@dataclass
class BatchWriter:
    """Sends one mailbox's writes as $batch requests; see the module docstring for the rules."""

    service: Any  # msgraph GraphServiceClient
    limiter: MailboxLimiter
    policy: RetryPolicy
    sleep: Sleep
    throttled_items: int = field(default=0, init=False)  # inner 429s seen, for benchmarks

    async def write(self, mailbox_id: str, writes: Sequence[EventWrite]) -> list[WriteResult]:
        kind = BatchedRequest(lambda write: write_item(mailbox_id, write), write_result, failed_result)
        return await self.run(mailbox_id, writes, kind)

    async def run(self, mailbox_id: str, items: Sequence[Item], kind: BatchedRequest[Item, Result]) -> list[Result]:
        """One result per item, in the order of `items`, by as few `$batch` requests as the limits allow."""
        results: dict[int, Result] = {}  # by position in `items`
        queue = deque(_Pending(i, item) for i, item in enumerate(items))
        size = batch_size(self.limiter.per_mailbox)
        while queue:
            group = [queue.popleft() for _ in range(min(size, len(queue)))]
            try:
                answers = await self._send(mailbox_id, group, kind)
            except GraphError as error:
                delay = self._resend_delay(error, group)
                if delay is None:
                    for pending in (*group, *queue):
                        results[pending.index] = kind.failed(pending.item, error)
                    break
                await self._wait_and_requeue(queue, [(pending, delay) for pending in group])
                continue
            throttled, delay = self._settle(group, answers, results, kind)
            if throttled:
                await self._wait_and_requeue(queue, [(pending, delay) for pending in throttled])
        return [results[i] for i in range(len(items)) if i in results]

    async def _wait_and_requeue(self, queue: deque[_Pending[Item]], again: list[tuple[_Pending[Item], float]]) -> None:
        """Wait once (the longest delay), then put the items back at the front of the queue, in order."""
        delay = max(d for _, d in again)
        await self.sleep(delay)
        for pending, _ in again:
            pending.attempts += 1
            pending.waited += delay
        queue.extendleft(pending for pending, _ in reversed(again))

    def _resend_delay(self, error: GraphError, group: list[_Pending[Item]]) -> float | None:
        """Whether to send a whole batch again after its request got no answer (status 0: connection lost).

        That is safe because every write is idempotent: a create repeated with its transactionId is refused
        (ErrorDuplicateTransactionId, `WriteResult.transaction_spent`) and the engine links the event it made, a
        PATCH sets the same fields again, and a repeated DELETE answers 404, which counts as done.
        """
        if error.status != 0:
            return None  # an HTTP answer: the middleware already retried what deserved it
        attempt = max(p.attempts for p in group) + 1
        delay = backoff_delay(attempt, rng=self.policy.rng)
        if attempt >= self.policy.max_attempts or max(p.waited for p in group) + delay > self.policy.budget_seconds:
            return None
        return delay

    def _settle(
        self,
        group: list[_Pending[Item]],
        answers: dict[str, InnerResponse],
        results: dict[int, Result],
        kind: BatchedRequest[Item, Result],
    ) -> tuple[list[_Pending[Item]], float]:
        """Record final answers; return the throttled items to send again and how long to wait first."""
        throttled: list[tuple[_Pending[Item], float, InnerResponse]] = []
        for position, pending in enumerate(group):
            answer = answers.get(str(position)) or _NO_ANSWER
            if answer.status == 429:
                self.throttled_items += 1
            delay = self.policy.next_delay(
                answer.status, answer.headers.get("retry-after"), attempt=pending.attempts + 1, waited=pending.waited
            )
            if delay is None:
                results[pending.index] = kind.answered(pending.item, answer)
            else:
                throttled.append((pending, delay, answer))
        if not throttled:
            return [], 0.0
        # The mailbox is throttled as a whole: everyone waits for the longest Retry-After. An item whose
        # budget cannot afford that wait keeps its 429 as its result.
        longest = max(delay for _, delay, _ in throttled)
        again: list[_Pending[Item]] = []
        for pending, _, answer in throttled:
            if pending.waited + longest > self.policy.budget_seconds:
                results[pending.index] = kind.answered(pending.item, answer)
            else:
                again.append(pending)
        return again, longest

    async def _send(
        self, mailbox_id: str, group: list[_Pending[Item]], kind: BatchedRequest[Item, Result]
    ) -> dict[str, InnerResponse]:
        from kiota_abstractions.headers_collection import HeadersCollection
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        root = self.service.request_adapter.base_url
        items = []
        for pending in group:
            item = kind.request(pending.item)
            items.append(item if isinstance(item, dict) else sdk_item(item, root))
        # The request `self.service.batch.to_post_request_information` makes, with the body already written.
        request = RequestInformation()
        request.http_method = Method.POST
        request.url_template = self.service.batch.url_template
        request.headers = HeadersCollection()
        request.headers.try_add("Content-Type", "application/json")
        request.content = batch_payload(items)
        async with self.limiter.slots(mailbox_id, slots_taken(len(group))):
            try:
                raw = await self.service.request_adapter.send_primitive_async(request, "bytes", failures.error_map())
            except failures.SDK_TRANSPORT_ERRORS as exc:
                raise failures.from_exception(exc, f"$batch for mailbox {mailbox_id}") from exc
        return parse_batch_answer(raw)
