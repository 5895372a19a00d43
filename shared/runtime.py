"""The composition root: builds the real adapters from settings, once per process.

Azure Functions keeps the worker process (and its event loop) between invocations, so the Graph client, the
OpenAir HTTP pool and the table client are built on first use and reused. Heavy imports (msgraph) happen
here, on first use, never at module import: the webhook's cold start does not pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import ConfigurationError
from shared.secrets import SecretProvider, secret_provider
from shared.settings import GraphSettings, OpenAirSettings, StorageSettings, SyncSettings, load
from shared.store.store import SyncStore

if TYPE_CHECKING:
    from shared.graph.gateway import CalendarGateway
    from shared.openair.client import OpenAirClient
    from shared.openair.source import OpenAirSource
    from shared.store.tables import TableBackend


@dataclass
class Services:
    """Everything a job needs; built lazily so a job pays only for what it touches."""

    environ: Mapping[str, str]
    secrets: SecretProvider
    _store: SyncStore | None = None
    _openair_client: OpenAirClient | None = None
    _openair: OpenAirSource | None = None
    _calendar: CalendarGateway | None = None

    @property
    def sync_settings(self) -> SyncSettings:
        return load(SyncSettings, self.environ)

    def store(self) -> SyncStore:
        if self._store is None:
            self._store = SyncStore(table_backend(load(StorageSettings, self.environ)))
        return self._store

    def openair_client(self) -> OpenAirClient:
        if self._openair_client is None:
            from shared.openair.client import OpenAirClient

            self._openair_client = OpenAirClient(load(OpenAirSettings, self.environ), self.secrets)
        return self._openair_client

    def openair(self) -> OpenAirSource:
        if self._openair is None:
            from shared.openair.source import OpenAirSource

            self._openair = OpenAirSource(self.openair_client())
        return self._openair

    def calendar(self) -> CalendarGateway:
        if self._calendar is None:
            from shared.graph.client import build_client
            from shared.graph.gateway import CalendarGateway

            graph_settings = load(GraphSettings, self.environ)
            self._calendar = CalendarGateway(build_client(graph_settings, self.secrets), graph_settings)
        return self._calendar

    async def aclose(self) -> None:
        if self._openair_client is not None:
            await self._openair_client.aclose()
            self._openair_client = None
            self._openair = None
        if self._calendar is not None:
            await self._calendar.aclose()
            self._calendar = None


def table_backend(settings: StorageSettings) -> TableBackend:
    """Azure Tables from the connection string (local, Azurite), or the managed identity (Azure)."""
    from shared.store.azure_backend import AzureTables

    if settings.connection_string:
        if settings.connection_string == "UseDevelopmentStorage=true":
            raise ConfigurationError(
                "AzureWebJobsStorage=UseDevelopmentStorage=true points at Azurite's default ports; give the full "
                "connection string of the Azurite you started (make demo prints it)"
            )
        return AzureTables.from_connection_string(settings.connection_string)
    if settings.table_service_uri:
        from azure.identity import DefaultAzureCredential

        return AzureTables.from_endpoint(settings.table_service_uri, DefaultAzureCredential())
    raise ConfigurationError(
        "No storage configured: set AzureWebJobsStorage (a connection string) or "
        "AzureWebJobsStorage__tableServiceUri with the function app's managed identity"
    )


_services: Services | None = None


def services(environ: Mapping[str, str] | None = None) -> Services:
    """The process's services (one set per worker process)."""
    global _services
    if _services is None or environ is not None:
        env = os.environ if environ is None else environ
        _services = Services(env, secret_provider(env))
    return _services
