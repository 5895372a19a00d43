"""Build the process's one long-lived `GraphServiceClient` from settings.

One client per process: Azure Functions keeps the worker process and its event loop between invocations, so
the connection pool, the token cache and the 0.8–3.4 s msgraph import are paid once. The same code serves
Microsoft Graph (a credential from settings) and the loopback simulator (a fixed dev token), so tests and
the demo drive the real SDK pipeline.

msgraph is imported inside the builder only: importing `shared.graph` must stay light (see __init__).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)

from shared.errors import ConfigurationError
from shared.graph.middleware import CountingTransport, Sleep, ThrottleRetryHandler, Traffic
from shared.graph.retry import RetryPolicy
from shared.secrets import SecretProvider
from shared.settings import GraphSettings

_CREDENTIAL_SETTINGS = (
    "set GRAPH_USE_MANAGED_IDENTITY=true (optionally AZURE_CLIENT_ID for a user-assigned identity), or set "
    "GRAPH_TENANT_ID and GRAPH_CLIENT_ID together with the secret GRAPH_CLIENT_CERTIFICATE (PEM with private "
    "key) or GRAPH_CLIENT_SECRET"
)


@dataclass
class GraphClient:
    """The SDK client plus what we own around it: the HTTP pool, the credential and the traffic counters."""

    service: Any  # msgraph.GraphServiceClient; typed as Any because mypy does not follow msgraph
    http: httpx.AsyncClient
    traffic: Traffic
    credential: Any = None  # azure.identity.aio credential to close, None against the simulator
    closed: bool = field(default=False, init=False)

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.http.aclose()
        if self.credential is not None:
            await self.credential.close()


def graph_scope(base_url: str) -> str:
    """`https://graph.microsoft.com/.default` for global Graph; the same form for a national cloud's host."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def build_credential(settings: GraphSettings, secrets: SecretProvider) -> Any:
    """The azure-identity (async) credential the settings describe; ConfigurationError naming them if none."""
    from azure.identity.aio import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential

    if settings.use_managed_identity:
        return ManagedIdentityCredential(client_id=settings.managed_identity_client_id or None)
    if not settings.tenant_id or not settings.client_id:
        raise ConfigurationError(f"No Graph credential configured: {_CREDENTIAL_SETTINGS}.")
    certificate = secrets.get("GRAPH_CLIENT_CERTIFICATE")
    if certificate:
        return CertificateCredential(
            settings.tenant_id, settings.client_id, certificate_data=certificate.encode("utf-8")
        )
    secret = secrets.get("GRAPH_CLIENT_SECRET")
    if secret:
        return ClientSecretCredential(settings.tenant_id, settings.client_id, secret)
    raise ConfigurationError(
        f"GRAPH_TENANT_ID and GRAPH_CLIENT_ID are set but neither GRAPH_CLIENT_CERTIFICATE nor "
        f"GRAPH_CLIENT_SECRET is: {_CREDENTIAL_SETTINGS}."
    )


def _auth_provider(settings: GraphSettings, secrets: SecretProvider) -> tuple[Any, Any]:
    """(kiota authentication provider, credential to close later)."""
    if settings.is_loopback:
        return BaseBearerTokenAuthenticationProvider(_DevTokenProvider(settings.dev_token)), None
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )

    credential = build_credential(settings, secrets)
    # Tokens go to the configured Graph host only. (msgraph_core's own provider cannot be used with its
    # defaults: it passes "https://graph.microsoft.com"-style hosts, which kiota's validator rejects.)
    host = urlsplit(settings.base_url).hostname or ""
    provider = AzureIdentityAuthenticationProvider(
        credential, scopes=[graph_scope(settings.base_url)], allowed_hosts=[host]
    )
    return provider, credential


class _DevTokenProvider(AccessTokenProvider):
    """A fixed bearer token for the loopback simulator; azure-identity sends none to a non-Microsoft host."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


def _middleware(policy: RetryPolicy, sleep: Sleep) -> list[Any]:
    """The SDK's default pipeline (as GraphRequestAdapter builds it) with our retry handler in kiota's place."""
    from kiota_http.kiota_client_factory import KiotaClientFactory
    from kiota_http.middleware import RetryHandler
    from msgraph.graph_request_adapter import options as sdk_options
    from msgraph_core import GraphClientFactory

    pipeline: list[Any] = KiotaClientFactory.get_default_middleware(sdk_options)
    pipeline = [ThrottleRetryHandler(policy, sleep) if isinstance(m, RetryHandler) else m for m in pipeline]
    pipeline.append(GraphClientFactory._get_telemetry_handler(sdk_options))
    return pipeline


def build_client(
    settings: GraphSettings,
    secrets: SecretProvider,
    *,
    sleep: Sleep = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> GraphClient:
    """A GraphServiceClient on our HTTP pipeline, pointed at GRAPH_BASE_URL.

    `transport` replaces the network (tests); `sleep` is what the retry handler waits with.
    """
    from msgraph import GraphServiceClient
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph_core import GraphClientFactory

    auth, credential = _auth_provider(settings, secrets)
    traffic = Traffic()
    if transport is None:
        # One batch in flight per mailbox (see batch.py) plus reads: a few hundred mailboxes at a time per
        # process. HTTP/2 multiplexes them against Graph; the plain-http simulator speaks HTTP/1.1.
        transport = httpx.AsyncHTTPTransport(
            http2=not settings.is_loopback,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=128),
        )
    http = httpx.AsyncClient(
        transport=CountingTransport(transport, traffic),
        timeout=httpx.Timeout(settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)),
    )
    policy = RetryPolicy(budget_seconds=settings.retry_budget_seconds)
    http = GraphClientFactory.create_with_custom_middleware(_middleware(policy, sleep), client=http)
    adapter = GraphRequestAdapter(auth, http)
    adapter.base_url = settings.base_url
    return GraphClient(GraphServiceClient(request_adapter=adapter), http, traffic, credential)
