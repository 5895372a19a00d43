"""The app settings that point the product at the offline world, and the mapping step every scenario starts with.

One place for the demo, the end-to-end tests and the benchmarks, so they all run the product the same way.
"""

from __future__ import annotations

from sandbox.sample import CREDENTIALS
from shared.admin.mappings import MappingReport, refresh_mappings
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets

# Timers the tests and the demo fire on demand: a schedule that never comes round on its own.
NEVER = "0 0 0 1 1 *"


def product_settings(storage_connection: str, openair_url: str, graph_url: str, **extra: str) -> dict[str, str]:
    """App settings for Azurite + the OpenAir simulator (sample credentials) + the Graph simulator."""
    return {
        "AzureWebJobsStorage": storage_connection,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "EXPORT_SCHEDULE": NEVER,
        "IMPORT_SUBSCRIPTION_SCHEDULE": NEVER,
        "IMPORT_RECONCILE_SCHEDULE": NEVER,
        "OPENAIR_BASE_URL": openair_url,
        "OPENAIR_COMPANY": CREDENTIALS["company"],
        "OPENAIR_USER": CREDENTIALS["user"],
        "OPENAIR_PASSWORD": CREDENTIALS["password"],
        "OPENAIR_API_KEY": CREDENTIALS["api_key"],
        "OPENAIR_COMPANY_TIMEZONE": "America/New_York",
        "GRAPH_BASE_URL": graph_url,
        **extra,
    }


async def map_users(env: dict[str, str]) -> MappingReport:
    """Create the tables and map OpenAir users to mailboxes by email, as an administrator's first step."""
    services = Services(env, EnvironmentSecrets(env))
    try:
        store = services.store()
        store.ensure_tables()
        return await refresh_mappings(store, services.openair(), services.calendar())
    finally:
        await services.aclose()
