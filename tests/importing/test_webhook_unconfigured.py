"""The webhook with WEBHOOK_CLIENT_STATE unset: 503 (Graph delivers again later) and a log line naming the setting."""

from __future__ import annotations

import logging

import azure.functions as func
import pytest

import shared.runtime
from blueprints import importing
from shared.notifications import webhook
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets


class Sink:
    def __init__(self) -> None:
        self.value: list[str] | None = None

    def set(self, value: list[str]) -> None:
        self.value = value

    def get(self) -> list[str] | None:
        return self.value


def test_an_unset_client_state_answers_503_and_the_log_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;"
           "TableEndpoint=http://127.0.0.1:9/x;QueueEndpoint=http://127.0.0.1:9/x;"}  # fmt: skip
    monkeypatch.setattr(shared.runtime, "_services", Services(env, EnvironmentSecrets(env)))
    request = func.HttpRequest("POST", "https://app/api/graph/notifications", headers={"content-type":
                               "application/json"}, body=b'{"value": []}')  # fmt: skip
    sink = Sink()
    with caplog.at_level(logging.ERROR):
        answer = importing._answer(request, sink, webhook.handle_notifications)  # type: ignore[arg-type]
    assert answer.status_code == 503
    assert answer.get_body() == b"not configured"
    assert sink.value is None  # nothing queued
    (record,) = [r for r in caplog.records if r.getMessage().startswith("notification not processed")]
    assert "WEBHOOK_CLIENT_STATE is not set" in record.getMessage()
