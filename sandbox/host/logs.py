"""Structured host logs: one JSON object per line on stderr.

Callers pass fields with `extra=fields(...)`. What goes in is chosen by the caller and never includes
request bodies, query strings, headers or keys; the formatter adds only time, level, logger and message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("sandbox.host")


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` payload for a structured log record."""
    return {"host_fields": values}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "host_fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: int = logging.INFO) -> None:
    """Send every log record (the host's and the app's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The storage SDK logs every HTTP request with its headers at INFO; keep it to warnings.
    logging.getLogger("azure").setLevel(logging.WARNING)
