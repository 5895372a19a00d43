"""The simulator's HTTP/1.1 server (stdlib, keep-alive): `POST /api.pl` and the `/_sim/` control API.

`OpenAirSimulator(data).start(host, port=0)` serves from a daemon thread and returns the base URL, which is
what OPENAIR_BASE_URL takes; `stop()` shuts it down. `python -m sandbox.openair` wraps the same class.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.openair.auth import RateLimiter
from sandbox.openair.control_api import route
from sandbox.openair.read import Options
from sandbox.openair.service import Service

MAX_BODY = 50 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: twenty people saving at once overflow the accept queue, and Linux
    # then resets connections the client already counts as open. A real service's front end does not; 128 is
    # Linux's traditional SOMAXCONN.
    request_queue_size = 128
    daemon_threads = True


class OpenAirSimulator:
    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        rate_per_minute: int = 0,
        rate_per_day: int = 0,
        latency_ms: float = 0.0,
        filter_boundary: str = "exclusive",
        empty_read_status: int = 601,
    ) -> None:
        if data is None:
            from sandbox.sample import build

            data = build()["openair"]
        self.service = Service(
            data,
            options=Options(filter_boundary=filter_boundary, empty_read_status=empty_read_status),
            limiter=RateLimiter(per_minute=rate_per_minute, per_day=rate_per_day),
            latency_ms=latency_ms,
        )
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def store(self) -> Any:
        return self.service.store

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a daemon thread; returns `http://host:port`."""
        server = _Server((host, port), _handler(self.service))
        self._server = server
        # A short poll interval keeps stop() (which waits for the next poll) quick in tests.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="openair-sim", daemon=True
        )
        self._thread.start()
        self.url = f"http://{host}:{server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def _handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real service behind its load balancer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # requests carry credentials; the simulator never logs them

        def _body(self) -> bytes | None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b"request too large", "text/plain")
                return None
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _control(self, method: str) -> None:
            raw = self._body()
            if raw is None:
                return
            try:
                payload = json.loads(raw) if raw.strip() else None
            except json.JSONDecodeError as exc:
                self._send(400, json.dumps({"error": f"invalid JSON: {exc}"}).encode(), "application/json")
                return
            status, value = route(service, method, self.path.split("?")[0], payload)
            self._send(status, json.dumps(value).encode(), "application/json")

        def do_POST(self) -> None:
            if self.path.startswith("/_sim/"):
                self._control("POST")
                return
            if self.path.split("?")[0] != "/api.pl":
                self._send(404, b"not found", "text/plain")
                return
            body = self._body()
            if body is None:
                return
            answer = service.handle(body)
            if answer.delay:
                time.sleep(answer.delay)
            content_type = "text/xml; charset=utf-8" if answer.status == 200 else "text/html"
            # The client may have given up (timeout fault): nothing is left to answer then.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(answer.status, answer.body, content_type)

        def do_GET(self) -> None:
            if self.path.startswith("/_sim/"):
                self._control("GET")
            else:
                self._send(404, b"not found", "text/plain")

        def do_PATCH(self) -> None:
            self._control("PATCH")

        def do_DELETE(self) -> None:
            self._control("DELETE")

    return Handler
