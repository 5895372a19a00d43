"""Transport-neutral request and response objects, shared by the HTTP server and `$batch` inner requests."""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from sandbox.graph.errors import GraphError

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_PREFER = re.compile(r'([\w.-]+)\s*=\s*(?:"([^"]*)"|([^,;\s]+))')


@dataclass
class Request:
    method: str
    path: str  # relative to the /v1.0 root, percent-decoding left to the router
    query: dict[str, str]  # keys lower-cased: Graph's query parameter names are case-insensitive
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    base: str  # e.g. http://127.0.0.1:PORT/v1.0, for nextLink/deltaLink
    raw_target: str = ""  # path + query as received, for fault matching
    inner: bool = False  # a $batch item

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise GraphError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type "
                "header is set and payload is of valid JSON format.",
            ) from exc

    def prefer(self) -> dict[str, str]:
        """`Prefer` preferences (`outlook.timezone`, `odata.maxpagesize`, …), names lower-cased."""
        found: dict[str, str] = {}
        for name, quoted, bare in _PREFER.findall(self.headers.get("prefer", "")):
            found[name.lower()] = quoted if quoted else bare
        return found


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or bytes, or None (no body)
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    """Split `/users/x/events?$top=5` into the path and a query dict with lower-cased names."""
    parts = urllib.parse.urlsplit(target)
    query = {k.lower(): v for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)}
    return urllib.parse.unquote(parts.path), query
