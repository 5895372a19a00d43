"""The parts of host.json this host honours, with the real host's defaults.

- `functionTimeout` (default 30 minutes, the Flex Consumption default; `-1` means unbounded): an invocation still
  running then fails with FunctionTimeout, as the real host fails it
- `extensions.http.routePrefix` (default `api`; empty string means no prefix)
- `extensions.queues`: `batchSize` (16, at most 32), `newBatchThreshold` (batchSize / 2),
  `maxPollingInterval` (1 minute, at least 100 ms), `visibilityTimeout` (0: a failed message reappears at
  once), `maxDequeueCount` (5), `messageEncoding` (`base64` or `none`; base64 is the default)

App settings `AzureFunctionsJobHost__extensions__queues__batchSize=4` override host.json, as on Azure.
Keys are case-insensitive, as .NET configuration reads them. Durations are TimeSpan strings (`00:00:02`,
`1.00:00:00`, `00:00:00.250`); a bare number is refused because .NET would read `2` as two days.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_OVERRIDE_PREFIX = "azurefunctionsjobhost__"
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")
MIN_POLLING_INTERVAL = 0.1
# Flex Consumption's default functionTimeout (learn.microsoft.com/azure/azure-functions/functions-scale#timeout).
DEFAULT_FUNCTION_TIMEOUT = 30 * 60.0


class HostJsonError(ValueError):
    """host.json (or an override setting) holds a value the host cannot use; the message names it."""


@dataclass(frozen=True)
class QueuesOptions:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5
    message_encoding: str = "base64"


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueuesOptions = field(default_factory=QueuesOptions)
    function_timeout: float | None = DEFAULT_FUNCTION_TIMEOUT  # seconds; None: unbounded

    @classmethod
    def load(cls, source: Path | Mapping[str, Any] | None, settings: Mapping[str, str]) -> HostConfig:
        """Read host.json (a path, an already-parsed mapping, or None for defaults) plus override settings."""
        if source is None:
            document: dict[str, Any] = {}
        elif isinstance(source, Path):
            document = json.loads(source.read_text(encoding="utf-8")) if source.exists() else {}
        else:
            document = dict(source)
        tree = _lower_keys(document)
        for name, value in settings.items():
            if name.lower().startswith(_OVERRIDE_PREFIX):
                _set_path(tree, name.lower()[len(_OVERRIDE_PREFIX) :].split("__"), value)
        return cls._from_tree(tree)

    @classmethod
    def _from_tree(cls, tree: dict[str, Any]) -> HostConfig:
        extensions = tree.get("extensions", {})
        http = extensions.get("http", {})
        queues = extensions.get("queues", {})
        batch_size = _integer(queues, "batchsize", 16, low=1, high=32)
        encoding = str(queues.get("messageencoding", "base64")).lower()
        if encoding not in ("base64", "none"):
            raise HostJsonError(f"extensions.queues.messageEncoding is {encoding!r}; use 'base64' or 'none'")
        options = QueuesOptions(
            batch_size=batch_size,
            new_batch_threshold=_integer(queues, "newbatchthreshold", batch_size // 2, low=0, high=10_000),
            max_polling_interval=max(
                MIN_POLLING_INTERVAL, _duration(queues, "maxpollinginterval", 60.0, "extensions.queues")
            ),
            visibility_timeout=_duration(queues, "visibilitytimeout", 0.0, "extensions.queues"),
            max_dequeue_count=_integer(queues, "maxdequeuecount", 5, low=1, high=10_000),
            message_encoding=encoding,
        )
        raw_timeout = tree.get("functiontimeout")
        if raw_timeout is None:
            timeout: float | None = DEFAULT_FUNCTION_TIMEOUT
        elif str(raw_timeout).strip() == "-1":
            timeout = None
        else:
            timeout = _duration(tree, "functiontimeout", DEFAULT_FUNCTION_TIMEOUT, "host.json")
        prefix = str(http.get("routeprefix", "api")).strip("/")
        return cls(route_prefix=prefix, queues=options, function_timeout=timeout)


def parse_timespan(text: str) -> float:
    """Seconds in a .NET TimeSpan string `[d.]hh:mm:ss[.fffffff]`."""
    match = _TIMESPAN.match(text.strip())
    if not match:
        raise HostJsonError(f"{text!r} is not a TimeSpan like '00:00:02' or '00:00:00.500'")
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float("0." + fraction) if fraction else 0.0)


def _lower_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in node.items()}
    return node


def _set_path(tree: dict[str, Any], path: list[str], value: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _integer(section: Mapping[str, Any], key: str, default: int, *, low: int, high: int) -> int:
    raw = section.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise HostJsonError(f"extensions.queues.{key} is {raw!r}; it must be a whole number") from None
    if not low <= value <= high:
        raise HostJsonError(f"extensions.queues.{key} is {value}; it must be between {low} and {high}")
    return value


def _duration(section: Mapping[str, Any], key: str, default: float, where: str) -> float:
    raw = section.get(key)
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise HostJsonError(f"{where}.{key} is {raw!r}; write a TimeSpan string such as '00:00:02'")
    return parse_timespan(raw)
