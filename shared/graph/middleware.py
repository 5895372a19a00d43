"""The HTTP layer under the SDK: our retry handler in place of kiota's, and a request counter.

kiota's `RetryHandler` (kiota_http/middleware/retry_handler.py, `_parse_retry_after`) reads `Retry-After`
with `int()`: Graph's decimal values such as `2.128` fail to parse and fall through to its own back-off
(0.5·2^(n-1) s plus jitter), so it retries *before* the time Graph asked for. It also sleeps with a
hard-wired `asyncio.sleep`, stops after 3 retries whatever the budget says, and gives up on any delay of
180 s or more. `ThrottleRetryHandler` replaces it and applies `RetryPolicy`, the same rule the $batch
writer applies to inner responses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from kiota_http.middleware import BaseMiddleware

from shared.graph.retry import RetryPolicy

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Traffic:
    """What actually went over the wire (retries included): for benchmarks and status pages."""

    requests: int = 0
    throttled: int = 0  # 429 answers to whole requests; inner $batch 429s are counted by the batch writer


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts every HTTP request sent and every 429 received; sits below the middleware, so retries count."""

    def __init__(self, inner: httpx.AsyncBaseTransport, traffic: Traffic) -> None:
        self._inner = inner
        self.traffic = traffic

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.traffic.requests += 1
        response = await self._inner.handle_async_request(request)
        if response.status_code == 429:
            self.traffic.throttled += 1
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class ThrottleRetryHandler(BaseMiddleware):
    """Retries 429/503/504 after `Retry-After` (decimal seconds or HTTP date) within the retry budget."""

    def __init__(self, policy: RetryPolicy, sleep: Sleep) -> None:
        super().__init__()
        self._policy = policy
        self._sleep = sleep

    async def send(self, request: httpx.Request, transport: httpx.AsyncBaseTransport) -> httpx.Response:
        attempt, waited = 0, 0.0
        while True:
            response: httpx.Response = await super().send(request, transport)
            attempt += 1
            delay = self._policy.next_delay(
                response.status_code, response.headers.get("Retry-After"), attempt=attempt, waited=waited
            )
            if delay is None:
                return response
            await response.aclose()  # hand the connection back before waiting
            await self._sleep(delay)
            waited += delay
            request.headers["Retry-Attempt"] = str(attempt)
