"""The push endpoint's 503: whoever holds the function key learns that push is unavailable, not how it is configured."""

from __future__ import annotations

import logging

import azure.functions as func
import pytest

import blueprints.push
from shared.runtime import Services
from shared.secrets import KeyVaultSecrets

VAULT = "https://contoso-sync-kv.vault.azure.net/"


class Unset:
    def set(self, value: str) -> None:
        raise AssertionError("nothing may be enqueued when push is unavailable")


def test_a_key_vault_failure_answers_503_without_naming_the_vault(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fetch(name: str) -> str | None:
        raise TimeoutError(f"no route to {VAULT}")

    secrets = KeyVaultSecrets(VAULT, fetch=fetch)
    monkeypatch.setattr(blueprints.push, "services", lambda: Services({}, secrets))
    request = func.HttpRequest("POST", "/api/openair/changed", body=b"{}", headers={"X-OpenAir-Signature": "x"})
    handler = blueprints.push.openair_changed._function.get_user_function()

    with caplog.at_level(logging.ERROR, logger="blueprints.push"):
        response = handler(request, Unset())

    assert response.status_code == 503
    text = response.get_body().decode()
    assert "not available" in text
    for leak in ("vault", "contoso", "KEY_VAULT", "OPENAIR_PUSH_SECRET", "https://"):
        assert leak.lower() not in text.lower(), f"the 503 text names {leak!r}: {text}"
    # The administrator still finds the cause in the log.
    assert any(VAULT in str(getattr(r, "detail", "")) for r in caplog.records)
