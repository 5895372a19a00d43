"""The HTTP/1.1 server (stdlib, keep-alive) and `GraphSimulator`, the handle tests use in-process.

`/v1.0/...` is Graph; `/_sim/...` is the control API. Everything else is 404.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.graph.api import GraphApp
from sandbox.graph.control_api import PREFIX, ControlApi
from sandbox.graph.faults import CloseConnection
from sandbox.graph.messages import Request, Response, parse_target
from sandbox.graph.options import Options
from sandbox.graph.store import Store

ROOT = "/v1.0"


class _Server(ThreadingHTTPServer):
    # Many mailboxes connect at once in benchmarks; the stdlib default backlog of 5 resets connections.
    request_queue_size = 128
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    simulator: GraphSimulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo read the control API's counters instead of an access log."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        sim = self.server.simulator
        body = self._read_body()
        path, query = parse_target(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        base = f"http://{host}{ROOT}"
        try:
            if path == ROOT or path.startswith(ROOT + "/"):
                graph_path = path[len(ROOT) :] or "/"
                raw = self.path[len(ROOT) :] if self.path.startswith(ROOT) else self.path
                req = Request(self.command, graph_path, query, headers, body, base, raw_target=raw)
                response = sim.app.handle(req)
            elif path.startswith(PREFIX):
                response = sim.control.handle(Request(self.command, path, query, headers, body, base))
            else:
                response = Response(
                    404, {"error": {"code": "NotFound", "message": f"No service at {path}; Graph lives under {ROOT}."}}
                )
        except CloseConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = response.payload()
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.body is not None and not any(k.lower() == "content-type" for k in response.headers):
            self.send_header(
                "Content-Type", "application/json" if not isinstance(response.body, bytes) else "text/plain"
            )
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class GraphSimulator:
    """A Microsoft Graph simulator: `start()` serves it on loopback in a daemon thread; `stop()` ends it.

    `store` (users, events, sent mail) and `app` (throttle, faults, counters, delta tokens, subscriptions,
    notifier) are the direct Python handle to its state.
    """

    def __init__(self, data: dict[str, Any] | None = None, **options: Any) -> None:
        if data is None:
            from sandbox.sample import build

            data = build()["graph"]
        self.options = Options()
        self.options.update(options)
        self._initial = json.loads(json.dumps(data))
        self.store = Store(data)
        self.app = GraphApp(self.store, self.options)
        self.control = ControlApi(self.app, self.reset)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def reset(self, data: dict[str, Any] | None = None) -> None:
        """Back to the initial data (or new data): events, subscriptions, tokens, faults, counters, mail."""
        self.store.load(data if data is not None else self._initial)
        self.app.subscriptions.reset()
        self.app.delta.expire_all()
        self.app.faults.clear()
        self.app.counters.reset()
        self.app.throttle.reset()
        self.app.notifier.reset()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = a free port); returns the root URL, e.g. http://127.0.0.1:PORT/v1.0."""
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self
        actual = self._server.server_address[1]
        self.url = f"http://{host}:{actual}{ROOT}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="graph-sim", daemon=True
        )
        self._thread.start()
        return self.url

    @property
    def control_url(self) -> str:
        return self.url[: -len(ROOT)] + PREFIX

    def serve_forever(self, host: str, port: int) -> None:
        """Blocking variant for the CLI."""
        self.start(host, port)
        assert self._thread is not None
        self._thread.join()

    def stop(self) -> None:
        self.app.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.app.notifier.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> GraphSimulator:
        if not self.url:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
