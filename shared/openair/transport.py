"""One HTTP round trip to `api.pl`: envelope, credentials, retries with back-off, status of Auth.

Responses are read as a stream and refused past MAX_RESPONSE_BYTES (OpenAirResponseTooLarge): a body of any
size is never held, or parsed, whole.

Retried: 556 (rate limit, answered on Auth so nothing ran), HTTP 5xx/408/429, timeouts, connection failures
and bodies that do not parse — with exponential back-off and full jitter inside OPENAIR_RETRY_BUDGET_SECONDS,
after which the last error is raised. Transport failures are retried only for idempotent requests: a
timed-out plain Add may have run, and running it twice would create a second record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx

from shared.errors import ConfigurationError
from shared.openair.errors import (
    OpenAirError,
    OpenAirProtocolError,
    OpenAirResponseTooLarge,
    OpenAirTransportError,
    error_for,
    is_retryable,
)
from shared.openair.xml import Command, Envelope, Reply, build_request, parse_response
from shared.secrets import SecretProvider
from shared.settings import OpenAirSettings

CLIENT_VERSION = "1.0"
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
# A full page of 1,000 records is a few MB; a batch of reads (source.COMMANDS_PER_REQUEST) can be larger, and is
# split in halves when refused (client.read_many). Parsed, a body takes several times its size in memory.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024

Sleep = Callable[[float], Awaitable[None]]


class Transport:
    """Sends commands in one request and returns their replies in order (Auth checked and stripped)."""

    def __init__(
        self,
        settings: OpenAirSettings,
        secrets: SecretProvider,
        *,
        http: httpx.AsyncClient | None,
        sleep: Sleep,
        rng: Callable[[], float],
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.settings = settings
        self.max_response_bytes = max_response_bytes
        self._secrets = secrets
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=settings.timeout_seconds)
        self._sleep = sleep
        self._rng = rng
        self.url = f"{settings.base_url}/api.pl"
        self.requests_made = 0
        self._login: dict[str, str] | None = None
        self._key: str | None = None

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    @property
    def token_auth(self) -> bool:
        return "access_token" in self._credentials()[0]

    def _credentials(self) -> tuple[dict[str, str], str]:
        """Login fields and API key, read once through the secret provider; missing ones name the setting."""
        if self._login is None or self._key is None:
            key = self._secret("OPENAIR_API_KEY")
            token = self._secrets.get("OPENAIR_ACCESS_TOKEN")
            if token:
                login = {"access_token": token}
            else:
                for value, name in ((self.settings.company, "OPENAIR_COMPANY"), (self.settings.user, "OPENAIR_USER")):
                    if not value:
                        raise ConfigurationError(f"{name} is not set (needed for password login to OpenAir)")
                password = self._secrets.get("OPENAIR_PASSWORD")
                if not password:
                    raise ConfigurationError(
                        "OPENAIR_PASSWORD is not set (or set OPENAIR_ACCESS_TOKEN to log in with an OAuth token)"
                    )
                login = {"company": self.settings.company, "user": self.settings.user, "password": password}
            self._login, self._key = login, key
        return self._login, self._key

    def _secret(self, name: str) -> str:
        value = self._secrets.get(name)
        if not value:
            raise ConfigurationError(f"{name} is not set (Key Vault secret or environment variable)")
        return value

    async def send(self, commands: Sequence[Command], *, idempotent: bool = True) -> list[Reply]:
        """Replies to `commands`, one each, in order. Raises the typed error of a failed Auth or request."""
        label = ", ".join(c.label for c in commands) or "Auth"
        login, key = self._credentials()
        body = build_request(
            Envelope(self.settings.client_name, CLIENT_VERSION, self.settings.namespace, key, login, commands)
        )
        started = time.monotonic()
        slept = 0.0
        attempt = 0
        while True:
            try:
                return self._check(await self._post(body, label), commands, label)
            except OpenAirError as error:
                transport = isinstance(error, OpenAirTransportError | OpenAirProtocolError)
                if not is_retryable(error) or (transport and not idempotent):
                    raise
                ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
                delay = self._rng() * ceiling  # full jitter: spreads instances that failed together
                # Real sleeps show in the monotonic clock, injected ones only in `slept`: count the larger.
                spent = max(time.monotonic() - started, slept)
                if spent + delay > self.settings.retry_budget_seconds:
                    raise
                await self._sleep(delay)
                slept += delay
                attempt += 1

    async def _post(self, body: bytes, label: str) -> bytes:
        self.requests_made += 1
        try:
            async with self._http.stream(
                "POST", self.url, content=body, headers={"Content-Type": "text/xml; charset=utf-8"}
            ) as response:
                if response.status_code != 200:
                    raise OpenAirTransportError(
                        response.status_code, label, f"HTTP {response.status_code} from {self.url}"
                    )
                return await self._bounded_body(response, label)
        except httpx.TimeoutException as exc:
            raise OpenAirTransportError(0, label, f"timed out after {self.settings.timeout_seconds:g} s") from exc
        except httpx.HTTPError as exc:
            raise OpenAirTransportError(0, label, f"{type(exc).__name__}: {exc}") from exc

    async def _bounded_body(self, response: httpx.Response, label: str) -> bytes:
        """The (decoded) body, read no further than the cap: a declared length over it is refused unread."""
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise OpenAirResponseTooLarge(label, limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise OpenAirResponseTooLarge(label, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _check(self, body: bytes, commands: Sequence[Command], label: str) -> list[Reply]:
        replies = parse_response(body, label)
        if replies and replies[0].tag == "response":  # OpenAir could not parse what we sent
            raise error_for(replies[0].status, label, replies[0].text())
        if not replies or replies[0].tag != "Auth":
            raise OpenAirProtocolError(0, label, "response has no <Auth> element first")
        auth = replies[0]
        if auth.status != 0:
            raise error_for(auth.status, "Auth", auth.text(), token_auth=self.token_auth)
        replies = replies[1:]
        if len(replies) != len(commands):
            raise OpenAirProtocolError(0, label, f"expected {len(commands)} command replies, got {len(replies)}")
        for command, reply in zip(commands, replies, strict=True):
            if reply.tag != command.element.tag:
                raise OpenAirProtocolError(0, command.label, f"reply <{reply.tag}> answers <{command.element.tag}>")
        return replies


async def default_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
