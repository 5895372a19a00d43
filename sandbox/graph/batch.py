"""`POST /$batch`: JSON batching with Graph's rules.

At most 20 requests; each needs `id`, `method` and a relative `url`; a body needs a Content-Type header;
`dependsOn` orders requests and a failed dependency answers 424. Outlook runs a batch four requests at a time,
and every inner request goes through the mailbox's own throttle, so one item can be 429 while the batch is 200.
Inner responses come back in completion order, which is what "any order" means in practice.
"""

from __future__ import annotations

import concurrent.futures
import json
import uuid
from collections.abc import Callable
from typing import Any

from sandbox.graph.errors import GraphError, error_body
from sandbox.graph.messages import JSON_TYPE, Request, Response, parse_target

MAX_REQUESTS = 20
PARALLELISM = 4  # Outlook executes a batch four requests at a time
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _validate(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _bad("Invalid batch payload format: 'requests' must be an array.")
    items: list[dict[str, Any]] = payload["requests"]
    if not items:
        raise _bad("Invalid batch payload format: the batch must contain at least one request.")
    if len(items) > MAX_REQUESTS:
        raise _bad(
            f"Too many requests in the batch: {len(items)}. A batch can contain at most {MAX_REQUESTS} requests."
        )
    ids: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) and item[k] for k in ("id", "method", "url")
        ):
            raise _bad("Invalid batch payload format: each request needs 'id', 'method' and 'url'.")
        if item["id"] in ids:
            raise _bad(f"Invalid batch payload format: request id '{item['id']}' is used more than once.")
        ids.add(item["id"])
    for item in items:
        deps = item.get("dependsOn") or []
        if not isinstance(deps, list) or any(d not in ids or d == item["id"] for d in deps):
            raise _bad(f"Invalid dependsOn for request '{item['id']}': every dependency must be another request's id.")
    _check_acyclic(items)
    return list(items)


def _check_acyclic(items: list[dict[str, Any]]) -> None:
    deps = {i["id"]: set(i.get("dependsOn") or []) for i in items}
    done: set[str] = set()
    while len(done) < len(deps):
        ready = [k for k, v in deps.items() if k not in done and v <= done]
        if not ready:
            raise _bad("Invalid dependsOn: the dependencies form a cycle.")
        done.update(ready)


def _item_request(item: dict[str, Any], outer: Request) -> Request | Response:
    """The inner request, or an immediate per-item error response."""
    method = item["method"].upper()
    url = item["url"]
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    if method not in METHODS:
        return _error_item(400, "BadRequest", f"Method '{item['method']}' is not supported in a batch.")
    if "://" in url:
        return _error_item(400, "BadRequest", "The batch request URL must be relative to the service root.")
    body = item.get("body")
    raw = b""
    if body is not None:
        if "content-type" not in headers:
            return _error_item(400, "BadRequest", "Content-Type header must be specified when a body is present.")
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    target = url if url.startswith("/") else "/" + url
    path, query = parse_target(target)
    if outer.headers.get("authorization"):
        headers.setdefault("authorization", outer.headers["authorization"])
    return Request(method, path, query, headers, raw, outer.base, raw_target=target, inner=True)


def _error_item(status: int, code: str, message: str) -> Response:
    """An item refused by the batch itself; its body has the innerError every Graph error carries."""
    request_id = str(uuid.uuid4())
    body = error_body(code, message, request_id, request_id)
    return Response(status, body, {"Content-Type": JSON_TYPE, "request-id": request_id})


def run(outer: Request, dispatch: Callable[[Request], Response]) -> Response:
    """Run a batch, four at a time, honouring dependsOn; the batch itself answers 200."""
    items = _validate(outer.json())
    by_id = {i["id"]: i for i in items}
    results: dict[str, Response] = {}
    order: list[str] = []  # completion order
    pending = dict(by_id)
    with concurrent.futures.ThreadPoolExecutor(PARALLELISM, thread_name_prefix="graph-sim-batch") as pool:
        running: dict[concurrent.futures.Future[Response], str] = {}
        while pending or running:
            for item_id, item in list(pending.items()):
                deps = item.get("dependsOn") or []
                if not all(d in results for d in deps):
                    continue
                del pending[item_id]
                if any(not 200 <= results[d].status < 300 for d in deps):
                    results[item_id] = _error_item(
                        424, "FailedDependency", "The request depends on a request that failed."
                    )
                    order.append(item_id)
                    continue
                prepared = _item_request(item, outer)
                if isinstance(prepared, Response):
                    results[item_id] = prepared
                    order.append(item_id)
                else:
                    running[pool.submit(dispatch, prepared)] = item_id
            if not running:
                continue
            finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                item_id = running.pop(future)
                results[item_id] = future.result()
                order.append(item_id)
    responses = []
    for item_id in order:
        answer = results[item_id]
        entry: dict[str, Any] = {"id": item_id, "status": answer.status, "headers": dict(answer.headers)}
        if answer.body is not None:
            entry["body"] = answer.body if not isinstance(answer.body, bytes) else answer.body.decode()
        responses.append(entry)
    return Response(200, {"responses": responses})
