"""Secrets come from Key Vault (managed identity) when `KEY_VAULT_URL` is set, else from the environment.

A secret is asked for by its setting name (`OPENAIR_PASSWORD`); in Key Vault it lives under the same name in
kebab case (`openair-password`), since Key Vault names allow only letters, digits and dashes.
App settings may also hold Key Vault references, which the platform resolves before the app starts; one that
arrives unresolved is reported with the fix, never used as a password.
Every value handed out is registered with `shared.redaction` first, wherever it came from: the logs mask it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from shared import redaction
from shared.errors import ConfigurationError

KEY_VAULT_REFERENCE_PREFIX = "@Microsoft.KeyVault("


class SecretProvider(Protocol):
    def get(self, name: str) -> str | None:
        """The secret's value, or None when it is not configured anywhere."""
        ...


def key_vault_name(setting: str) -> str:
    """`OPENAIR_PASSWORD` -> `openair-password`."""
    return setting.lower().replace("_", "-")


def _checked(setting: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value.startswith(KEY_VAULT_REFERENCE_PREFIX):
        raise ConfigurationError(
            f"App setting {setting} holds an unresolved Key Vault reference ({value.split('(')[0]}(...)). "
            "Check that the function app's identity has the 'Key Vault Secrets User' role on the vault, that "
            "keyVaultReferenceIdentity names that identity, and that the secret exists."
        )
    redaction.register((value,))
    return value


class EnvironmentSecrets:
    """Secrets from environment variables (local development, tests, Key Vault references resolved by Azure)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def get(self, name: str) -> str | None:
        return _checked(name, self._environ.get(name))


class KeyVaultSecrets:
    """Secrets read from Key Vault with a short cache, falling back to the environment for unset names.

    The cache TTL bounds how long a rotated secret takes to be picked up without a restart.
    """

    def __init__(
        self,
        vault_url: str,
        *,
        fetch: Callable[[str], str | None] | None = None,
        fallback: SecretProvider | None = None,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._vault_url = vault_url
        self._fetch = fetch or self._secret_client_fetch()
        self._fallback = fallback or EnvironmentSecrets()
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def _secret_client_fetch(self) -> Callable[[str], str | None]:
        from azure.core.exceptions import ResourceNotFoundError
        from azure.identity import DefaultAzureCredential
        from azure.keyvault.secrets import SecretClient

        client = SecretClient(vault_url=self._vault_url, credential=DefaultAzureCredential())

        def fetch(name: str) -> str | None:
            try:
                value = client.get_secret(name).value
            except ResourceNotFoundError:
                return None
            return value

        return fetch

    def get(self, name: str) -> str | None:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and now - hit[0] < self._ttl:
                return hit[1]
        try:
            value = self._fetch(key_vault_name(name))
        except Exception as exc:  # any SDK/transport failure becomes one actionable message
            raise ConfigurationError(
                f"Could not read secret '{key_vault_name(name)}' from Key Vault {self._vault_url}: "
                f"{type(exc).__name__}. Check KEY_VAULT_URL, network access and the identity's "
                "'Key Vault Secrets User' role."
            ) from exc
        value = _checked(name, value)
        if value is None:
            value = self._fallback.get(name)
        with self._lock:
            self._cache[name] = (now, value)
        return value


def secret_provider(environ: Mapping[str, str] | None = None) -> SecretProvider:
    """Key Vault when `KEY_VAULT_URL` is set, the environment otherwise."""
    env = os.environ if environ is None else environ
    vault_url = env.get("KEY_VAULT_URL", "").strip()
    if vault_url:
        return KeyVaultSecrets(vault_url, fallback=EnvironmentSecrets(env))
    return EnvironmentSecrets(env)
