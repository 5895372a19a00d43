"""Structured logs: every record carries the run id, the function and the user it is about, and no secret.

- Context: `with log_context(function="manage_resync", run_id=..., user=...)` stamps every record logged inside
  it (including the engine's and the SDKs') with `sync_function`, `sync_run_id` and `sync_user`. The `sync_`
  prefix keeps them apart from a caller's own `extra={"run_id": ...}` (the logging module refuses two fields of
  one name). In Application Insights they are custom dimensions.
- Secrets: the values of every secret setting (and the function keys) present in the environment are replaced
  by `***` in messages and their arguments, a last line of defence: the code logs keys and counts, never
  secrets, tokens or event bodies (tests/admin/test_no_secrets_in_logs.py checks a whole run).
- Application Insights: `azure-monitor-opentelemetry` is imported and configured only when
  APPLICATIONINSIGHTS_CONNECTION_STRING is set, so a cold start without it (and the webhook path) pays nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from shared.settings import SECRET_SETTINGS

_CONTEXT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("sync_log_context", default=None)
_KEY_SETTINGS = ("FUNCTIONS_FUNCTION_KEY", "FUNCTIONS_HOST_KEY", "FUNCTIONS_MASTER_KEY", "GRAPH_DEV_TOKEN")
_MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_state: dict[str, Any] = {"installed": False, "secrets": (), "app_insights": False}


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Stamp records logged inside the block with these fields (run_id, function, user…)."""
    merged = {**(_CONTEXT.get() or {}), **{k: v for k, v in fields.items() if v}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    names = (*SECRET_SETTINGS, *_KEY_SETTINGS)
    return tuple(sorted({environ[n] for n in names if len(environ.get(n, "")) >= _MIN_SECRET_LENGTH}, key=len,
                        reverse=True))  # fmt: skip


def redact(text: str, secrets: tuple[str, ...] | None = None) -> str:
    for secret in _state["secrets"] if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        for key, value in (_CONTEXT.get() or {}).items():
            setattr(record, f"sync_{key}", value)
        if _state["secrets"]:
            record.msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
            if isinstance(record.args, tuple):
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return record

    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then every structured field of the record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(
    environ: Mapping[str, str] | None = None, *, stream: TextIO | None = None, level: int | None = None
) -> None:
    """Install the context and redaction (once per process); with `stream`, also write JSON lines there.

    In the Functions worker no handler is added: the worker forwards records to the host (and to Application
    Insights when configured). The CLI passes its stderr.
    """
    env = os.environ if environ is None else environ
    _state["secrets"] = secret_values(env)
    if not _state["installed"]:
        _install_record_factory()
        _state["installed"] = True
    root = logging.getLogger()
    if stream is not None:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
        if _state.get("handler") in root.handlers:
            root.removeHandler(_state["handler"])  # ours from an earlier call; others' handlers stay
        root.addHandler(handler)
        _state["handler"] = handler
    if level is not None:
        root.setLevel(level)
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDKs log every request with its headers at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request lines carry query strings (function keys)
    connection = env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip()
    if connection and not _state["app_insights"]:
        _configure_app_insights(connection)
        _state["app_insights"] = True


def _configure_app_insights(connection_string: str) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    # With APPLICATIONINSIGHTS_AUTHENTICATION_STRING (managed identity, local auth disabled) the distro picks the
    # credential up from the environment; nothing else to pass.
    configure_azure_monitor(connection_string=connection_string, logger_name="shared")
    logging.getLogger(__name__).info("Application Insights export on")


def cli_logging(environ: Mapping[str, str], *, verbose: bool) -> None:
    """The command line: warnings (or everything with --verbose) as JSON lines on stderr."""
    configure_logging(environ, stream=sys.stderr, level=logging.INFO if verbose else logging.WARNING)
