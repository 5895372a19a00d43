"""Secrets never reach a log, wherever they came from (Key Vault included) and however they are logged."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import redaction
from shared.logging_setup import configure_logging, counted
from shared.secrets import EnvironmentSecrets, KeyVaultSecrets, key_vault_name

# What Key Vault holds: nothing of it is in the environment. Quotes, backslashes, non-ASCII, URL-special
# characters: each changes when JSON-encoded, repr'd or put in a query string, and must be masked in that form too.
VAULT = {
    "OPENAIR_PASSWORD": 'Pa"ss\\wörd-Ωmega-71',
    "OPENAIR_API_KEY": "oa-api-key-5f0c1d9e",
    "GRAPH_CLIENT_SECRET": "gr~aph.Secret/with+plus&amp=1",
    "WEBHOOK_CLIENT_STATE": "client'state\"both-quotes",
    "WEBHOOK_FUNCTION_KEY": "whk_3vQ9-Xz81LmT0pQ==",
    "OPENAIR_PUSH_SECRET": "push\tsecret\nwith-controls\x01",
    "OPENAIR_ACCESS_TOKEN": "tok\u00e9n-\u65e5\u672c-\U0001f511-x",
}


REPO = Path(__file__).resolve().parents[1]


class Records(logging.Handler):
    """Stands in for Application Insights' handler: it exports every field of the record as a dimension."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(repr(vars(record)))
        self.seen.append(record.getMessage())
        if record.exc_info:
            self.seen.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def outputs() -> Iterator[dict[str, io.StringIO | Records]]:
    root, shared_logger = logging.getLogger(), logging.getLogger("shared")
    level = root.level
    json_lines = io.StringIO()
    configure_logging({}, stream=json_lines, level=logging.DEBUG)  # the CLI's JSON lines
    worker_text = io.StringIO()
    worker = logging.StreamHandler(worker_text)  # the Functions worker's handler: formatted text
    worker.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(worker)  # added after configure_logging, as handlers can be
    insights = Records()
    shared_logger.addHandler(insights)
    try:
        yield {"json": json_lines, "worker": worker_text, "insights": insights}
    finally:
        for handler in root.handlers[:]:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (json_lines, worker_text):
                root.removeHandler(handler)
        shared_logger.removeHandler(insights)
        root.setLevel(level)


class Holder:
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __repr__(self) -> str:
        return f"Holder({self.secret!r})"


def log_every_way(log: logging.Logger, name: str, secret: str) -> None:
    log.warning(f"inline {name} {secret}")
    log.warning("argument %s", secret)
    log.warning("repr argument %r", secret)
    log.warning("mapping %(value)s", {"value": secret})
    log.warning("as JSON %s", json.dumps({"value": secret}))
    log.warning("as JSON, non-ASCII kept %s", json.dumps({"value": secret}, ensure_ascii=False))
    log.warning("in a URL %s", "https://app.example/api?code=" + urllib.parse.quote(secret, safe=""))
    log.warning({"a dict as the message": secret})
    log.warning(
        "extra fields", extra={"detail": secret, "nested": {"list": [secret, (secret,)]}, "obj": Holder(secret)}
    )
    try:
        try:
            raise KeyError(secret)
        except KeyError as inner:
            raise ValueError(f"wrapped {secret}") from inner
    except ValueError:
        log.exception("failed with %s", "a chained exception")
    log.error("exception as exc_info", exc_info=RuntimeError(secret))


def test_every_secret_from_key_vault_is_masked_however_it_is_logged(outputs: dict[str, io.StringIO | Records]) -> None:
    vault = KeyVaultSecrets("https://contoso.vault.azure.net/", fetch=lambda kv: VAULT_BY_KV.get(kv),
                            fallback=EnvironmentSecrets({}))  # fmt: skip
    for name in VAULT:
        assert vault.get(name) == VAULT[name]  # what the app does: ask the provider, which registers the value
    log = logging.getLogger("shared.test_redaction")
    for name, secret in VAULT.items():
        log_every_way(log, name, secret)

    texts = {
        "json": outputs["json"].getvalue(),  # type: ignore[union-attr]
        "worker": outputs["worker"].getvalue(),  # type: ignore[union-attr]
        "insights": "\n".join(outputs["insights"].seen),  # type: ignore[union-attr]
    }
    for where, text in texts.items():
        for name, secret in VAULT.items():
            assert f"inline {name} ***" in text, f"{where}: nothing of {name} was logged; the test proves nothing"
            leaked = sorted(form for form in redaction.forms(secret) if form in text)
            assert leaked == [], f"{name} in the {where} output as {leaked}"
        assert text.count("***") >= 10 * len(VAULT)
    lines = [json.loads(line) for line in texts["json"].splitlines()]  # still valid JSON lines
    assert any(entry.get("detail") == "***" for entry in lines)
    assert any("exception" in entry and "ValueError: wrapped ***" in entry["exception"] for entry in lines)


def test_the_environments_own_secrets_and_keys_are_masked_too(outputs: dict[str, io.StringIO | Records]) -> None:
    storage = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=c3RvcmFnZS1rZXk=;"
    env = {"WEBHOOK_FUNCTION_KEY": "env-webhook-key-77", "FUNCTIONS_MASTER_KEY": "master-key-0042",
           "AzureWebJobsStorage": storage}  # fmt: skip
    configure_logging(env, stream=outputs["json"], level=logging.DEBUG)  # type: ignore[arg-type]
    logging.getLogger("shared.x").warning(
        "keys %s %s %s", "env-webhook-key-77", "master-key-0042", env["AzureWebJobsStorage"]
    )
    text = outputs["json"].getvalue()  # type: ignore[union-attr]
    for value in ("env-webhook-key-77", "master-key-0042", "c3RvcmFnZS1rZXk="):
        assert value not in text


def test_a_value_read_from_the_environment_provider_is_registered() -> None:
    EnvironmentSecrets({"OPENAIR_PASSWORD": "from-env-provider-9"}).get("OPENAIR_PASSWORD")
    assert redaction.redact("x from-env-provider-9 y") == "x *** y"


VAULT_BY_KV = {key_vault_name(name): value for name, value in VAULT.items()}


def test_the_function_app_installs_logging_and_no_blueprint_does_it_on_import() -> None:
    """Logging is set up by `function_app.py`, once, before any function runs; importing a blueprint (as the
    direct-call tests do) leaves the process's logging as it was."""
    probe = (
        "import logging; default = logging.getLogRecordFactory(); "
        "import blueprints.admin, blueprints.export, blueprints.importing, blueprints.push; "
        "assert logging.getLogRecordFactory() is default, 'a blueprint installed logging on import'; "
        "import function_app; "
        "assert logging.getLogRecordFactory() is not default, 'function_app.py did not install logging'"
    )
    env = {k: v for k, v in os.environ.items() if k != "APPLICATIONINSIGHTS_CONNECTION_STRING"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def test_counts_named_like_a_log_record_attribute_are_logged_not_refused(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("shared.test.counted")
    with caplog.at_level(logging.INFO, logger="shared.test.counted"):
        log.info("pass done", extra=counted({"created": 2, "module": 1, "deleted": 0}, user="u1"))
        with pytest.raises(KeyError, match="created"):  # what the logging module does without it
            log.info("pass done", extra={"created": 2})
    (record,) = caplog.records
    assert (record.created_count, record.module_count, record.deleted, record.user) == (2, 1, 0, "u1")  # type: ignore[attr-defined]
