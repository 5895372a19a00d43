"""The offline world's plumbing: Azurite starts on free ports and answers; settings fail clearly."""

from __future__ import annotations

import os

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

from sandbox.azurite import azurite
from shared.errors import ConfigurationError
from shared.secrets import EnvironmentSecrets, KeyVaultSecrets, key_vault_name
from shared.settings import OpenAirSettings, load, setting_names


def test_azurite_serves_tables_and_queues_and_stops_by_pid() -> None:
    with azurite() as service:
        tables = TableServiceClient.from_connection_string(service.connection_string)
        table = tables.create_table_if_not_exists("probe")
        table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "value": 1})
        assert table.get_entity("p", "r")["value"] == 1
        queues = QueueServiceClient.from_connection_string(service.connection_string)
        queue = queues.create_queue("probe")
        queue.send_message("hello")
        assert next(iter(queue.receive_messages())).content == "hello"
        pid = service.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # signal 0: does the PID still exist?


def test_bad_setting_names_the_setting_and_the_rule() -> None:
    with pytest.raises(ConfigurationError, match="OPENAIR_BASE_URL.*https://"):
        load(OpenAirSettings, {"OPENAIR_BASE_URL": "ftp://example"})


def test_settings_catalogue_lists_plain_and_secret_settings() -> None:
    names = setting_names()
    assert "OPENAIR_BASE_URL" in names
    assert names["OPENAIR_PASSWORD"].startswith("secret")


def test_unresolved_key_vault_reference_is_a_clear_error() -> None:
    secrets = EnvironmentSecrets(
        {"OPENAIR_PASSWORD": "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x/)"}
    )
    with pytest.raises(ConfigurationError, match="OPENAIR_PASSWORD.*Key Vault Secrets User"):
        secrets.get("OPENAIR_PASSWORD")


def test_key_vault_secrets_are_cached_and_fall_back_to_the_environment() -> None:
    calls: list[str] = []
    now = [0.0]

    def fetch(name: str) -> str | None:
        calls.append(name)
        return {"openair-password": "from-vault"}.get(name)

    vault = KeyVaultSecrets(
        "https://v.vault.azure.net/",
        fetch=fetch,
        fallback=EnvironmentSecrets({"OPENAIR_USER_TOKEN": "from-env"}),
        ttl_seconds=60,
        clock=lambda: now[0],
    )
    assert vault.get("OPENAIR_PASSWORD") == "from-vault"
    assert vault.get("OPENAIR_PASSWORD") == "from-vault"
    assert calls == ["openair-password"]
    now[0] = 61
    vault.get("OPENAIR_PASSWORD")
    assert calls == ["openair-password", "openair-password"]
    assert vault.get("OPENAIR_USER_TOKEN") == "from-env"
    assert key_vault_name("GRAPH_CLIENT_SECRET") == "graph-client-secret"


def test_key_vault_failure_names_the_vault_and_the_role() -> None:
    def fetch(name: str) -> str | None:
        raise OSError("connection refused")

    vault = KeyVaultSecrets("https://v.vault.azure.net/", fetch=fetch)
    with pytest.raises(ConfigurationError, match="openair-password.*Key Vault Secrets User"):
        vault.get("OPENAIR_PASSWORD")
