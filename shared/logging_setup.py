"""Structured logs: every record carries the run id, the function and the user it is about, and no secret.

- Context: `with log_context(function="manage_resync", run_id=..., user=...)` stamps every record logged inside
  it (including the engine's and the SDKs') with `sync_function`, `sync_run_id` and `sync_user`. The `sync_`
  prefix keeps them apart from a caller's own `extra={"run_id": ...}` (the logging module refuses two fields of
  one name). In Application Insights they are custom dimensions.
- Secrets: every value a secret provider handed out (Key Vault or environment, `shared.redaction`), the secret
  settings and platform keys found in the environment and the storage account key are replaced by `***` in
  messages, %-arguments, `extra=` fields, formatted exceptions and stack traces, in every form (JSON-escaped
  too), before any handler sees the record. A last line of defence: the code logs keys and counts, never
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
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from shared import redaction
from shared.settings import SECRET_SETTINGS

_CONTEXT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("sync_log_context", default=None)
_KEY_SETTINGS = (
    "FUNCTIONS_FUNCTION_KEY",
    "FUNCTIONS_HOST_KEY",
    "FUNCTIONS_MASTER_KEY",
    "GRAPH_DEV_TOKEN",
    "WEBHOOK_FUNCTION_KEY",
)
_ACCOUNT_KEY = re.compile(r"AccountKey=([^;]+)", re.IGNORECASE)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_GUARDED_LOGGERS = ("", "shared")  # the root (the Functions worker's handler, ours) and Application Insights'
_state: dict[str, Any] = {"installed": False, "app_insights": False}


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Stamp records logged inside the block with these fields (run_id, function, user…)."""
    merged = {**(_CONTEXT.get() or {}), **{k: v for k, v in fields.items() if v}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def counted(counts: Mapping[str, object], **fields: object) -> dict[str, object]:
    """`extra=` fields for a log line that carries a run's counts beside its own fields.

    The logging module refuses an `extra` key naming one of a record's own attributes (KeyError "Attempt to
    overwrite 'created' in LogRecord"), and a count may well be called `created`, `module` or `name`: such a count
    goes out as `<name>_count`, so a line logging a pass that created bookings is logged instead of raising."""
    out: dict[str, object] = dict(fields)
    for key, value in counts.items():
        out[f"{key}_count" if key in _STANDARD else key] = value
    return out


def secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The secrets the environment itself holds: secret settings, the platform's keys, the storage account key."""
    names = (*SECRET_SETTINGS, *_KEY_SETTINGS)
    found = {environ[n] for n in names if len(environ.get(n, "")) >= redaction.MIN_SECRET_LENGTH}
    found.update(_ACCOUNT_KEY.findall(environ.get("AzureWebJobsStorage", "")))
    return tuple(sorted(found, key=len, reverse=True))


def redact(text: str) -> str:
    return redaction.redact(text)


def scrub(record: logging.LogRecord) -> None:
    """Remove every registered secret from the record, in place; idempotent (it runs at creation and again in
    each handler's filter, once `extra=` fields, which the logging module adds after creation, are there)."""
    if not redaction.registered():
        return
    if record.args or not isinstance(record.msg, str):
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it; the parts are still scrubbed
            record.msg = redaction.redact_value(record.msg)
            record.args = redaction.redact_value(record.args)  # type: ignore[assignment]
        else:
            if redaction.contains_secret(message):
                record.msg, record.args = redaction.redact(message), None
    elif redaction.contains_secret(record.msg):
        record.msg = redaction.redact(record.msg)
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        if redaction.contains_secret(text):
            # Handlers format exc_text when it is set; exc_info goes, or one would format the secret again.
            record.exc_text, record.exc_info = redaction.redact(text), None
    if record.exc_text and redaction.contains_secret(record.exc_text):
        record.exc_text = redaction.redact(record.exc_text)
    if record.stack_info and redaction.contains_secret(record.stack_info):
        record.stack_info = redaction.redact(record.stack_info)
    for key, value in list(vars(record).items()):
        if key not in _STANDARD and not key.startswith("sync_"):
            setattr(record, key, redaction.redact_value(value))


class _Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


_SCRUB = _Scrub()


def _guard_handlers() -> None:
    """Give every handler of the guarded loggers the scrubbing filter, those added since the last record too."""
    for name in _GUARDED_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if _SCRUB not in handler.filters:
                handler.addFilter(_SCRUB)


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        for key, value in (_CONTEXT.get() or {}).items():
            setattr(record, f"sync_{key}", value)
        scrub(record)
        _guard_handlers()
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
        elif record.exc_text:
            entry["exception"] = record.exc_text
        # Values are redacted before encoding, and the encoded line again (a secret JSON escapes is found as such).
        return redact(json.dumps(redaction.redact_value(entry), default=lambda v: redact(str(v))))


class ReadableFormatter(logging.Formatter):
    """The command line without --verbose: `warning: <message> (<field> <value>, …)` for a person at a terminal.
    The run's context fields (function, run id) are left out; the record's own fields are kept; redacted as JSON."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items()
                  if k not in _STANDARD and not k.startswith(("_", "sync_"))}  # fmt: skip
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if fields:
            text += " (" + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in fields.items()) + ")"
        if record.exc_info:
            text += f"\n{self.formatException(record.exc_info)}"
        return redact(text)


def configure_logging(
    environ: Mapping[str, str] | None = None,
    *,
    stream: TextIO | None = None,
    level: int | None = None,
    readable: bool = False,
) -> None:
    """Install the context and redaction (once per process); with `stream`, also write JSON lines there.

    In the Functions worker no handler is added: the worker forwards records to the host (and to Application
    Insights when configured). The CLI passes its stderr.
    """
    env = os.environ if environ is None else environ
    redaction.register(secret_values(env))
    if not _state["installed"]:
        _install_record_factory()
        _state["installed"] = True
    root = logging.getLogger()
    if stream is not None:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(ReadableFormatter() if readable else JsonFormatter())
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
    _guard_handlers()


def _configure_app_insights(connection_string: str) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    # With APPLICATIONINSIGHTS_AUTHENTICATION_STRING (managed identity, local auth disabled) the distro picks the
    # credential up from the environment; nothing else to pass.
    configure_azure_monitor(connection_string=connection_string, logger_name="shared")
    logging.getLogger(__name__).info("Application Insights export on")


def cli_logging(environ: Mapping[str, str], *, verbose: bool) -> None:
    """The command line: warnings as readable lines on stderr; with --verbose, everything as JSON lines."""
    configure_logging(environ, stream=sys.stderr, level=logging.INFO if verbose else logging.WARNING,
                      readable=not verbose)  # fmt: skip
