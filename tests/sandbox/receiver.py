"""A tiny loopback webhook endpoint for simulator tests: answers Graph's validation and records notifications."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str
    echo: str = "token"  # "token": echo the decoded validationToken; "wrong": echo something else; "500"
    fail_first: int = 0  # answer 500 to this many notification POSTs before accepting
    validations: list[str] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)  # {"path", "query", "body"}
    lock: threading.Lock = field(default_factory=threading.Lock)

    def items(self) -> list[dict[str, Any]]:
        with self.lock:
            return [item for post in self.posts for item in post["body"].get("value", [])]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.items()
            if len(found) >= count:
                return found
            time.sleep(0.02)
        return self.items()


@contextmanager
def receiver(**settings: Any) -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            rec = state["r"]
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "validationToken" in query:
                token = query["validationToken"]
                rec.validations.append(token)
                status, text = (500, "") if rec.echo == "500" else (200, token if rec.echo == "token" else "nope")
                self._answer(status, text.encode(), "text/plain")
                return
            with rec.lock:
                failing = rec.fail_first > 0
                if failing:
                    rec.fail_first -= 1
                else:
                    rec.posts.append({"path": parts.path, "query": query, "body": json.loads(raw)})
            self._answer(500 if failing else 202, b"", "text/plain")

        def _answer(self, status: int, payload: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}", **settings)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()
