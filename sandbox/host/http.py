"""The HTTP front end: routes from the decorators under the route prefix, keys, limits, errors.

Served with the standard library's threading HTTP server on loopback. What the real front end does and
this one copies: `?code=` / `x-functions-key` keys by auth level (401), a request body limit (413, 100 MB by
default like Azure's), 404 for no route, 405 when the route exists for other methods, and a generic 500 for
a failing function — the traceback only goes to the host's stderr log. The admin API answers
`POST /admin/functions/{name}` with the master key, to run a non-HTTP function now (202), as the real
host does. Request logs carry method, path, status and duration: never the query string, headers or body.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func

from sandbox.host.invoker import HostStoppingError, Invoker
from sandbox.host.keys import HostKeys
from sandbox.host.loader import FunctionSpec
from sandbox.host.logs import fields, logger
from sandbox.host.routes import RouteTable
from sandbox.host.threads import THREAD_PREFIX

DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
# "Regardless of the function app timeout setting, 230 seconds is the maximum amount of time that an HTTP triggered
# function can take to respond" (the load balancer's idle timeout; learn.microsoft.com/azure/azure-functions/
# functions-scale#timeout). The caller then gets an error while the invocation runs on to functionTimeout. Which
# status the caller sees is not documented: `cut_status` chooses (502 by default, 504 possible).
HTTP_RESPONSE_LIMIT = 230.0
_ADMIN_FUNCTIONS = "/admin/functions/"

AdminInvoke = Callable[[str, str], int]  # (function name, input) -> HTTP status


class _BodyTooLargeError(Exception):
    pass


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog of 5 resets connections when a burst of callers (OpenAir form scripts on many
    # saves at once) connects together; the Functions host's Kestrel front end accepts them (its backlog is 512).
    request_queue_size = 128
    daemon_threads = True


class HttpFrontEnd:
    def __init__(
        self,
        functions: list[FunctionSpec],
        invoker: Invoker,
        keys: HostKeys,
        *,
        route_prefix: str,
        admin_invoke: AdminInvoke,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        response_limit: float = HTTP_RESPONSE_LIMIT,
        cut_status: int = 502,
    ) -> None:
        self.invoker = invoker
        self.response_limit = response_limit
        self.cut_status = cut_status
        self.keys = keys
        self.route_prefix = route_prefix.strip("/")
        self.admin_invoke = admin_invoke
        self.max_body_bytes = max_body_bytes
        self.routes: RouteTable[FunctionSpec] = RouteTable()
        for spec in functions:
            assert spec.http is not None
            self.routes.add(spec.http.route, spec)
        self.closing = False
        self._connections: set[socket.socket] = set()  # open client connections, idle keep-alive ones included
        self._connections_lock = threading.Lock()
        self._server = _Server((host, port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name=f"{THREAD_PREFIX}http", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop_accepting(self) -> None:
        """Close the listening socket; requests already being handled still get their answers."""
        self.closing = True
        self._server.shutdown()
        self._server.server_close()

    def close_connections(self) -> None:
        """End the connections still open (a client's idle keep-alive holds a thread until its timeout): reading
        stops, so each connection's thread ends once the answer it may be writing is sent."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # closed by the client meanwhile
                connection.shutdown(socket.SHUT_RD)

    def opened(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def closed(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def function_path(self, path: str) -> str | None:
        """The path under the route prefix, or None when the path is outside it."""
        if not self.route_prefix:
            return path.lstrip("/")
        prefix = f"/{self.route_prefix}"
        if path.lower() == prefix.lower():
            return ""
        if path.lower().startswith(prefix.lower() + "/"):
            return path[len(prefix) + 1 :]
        return None


def _handler_for(front: HttpFrontEnd) -> type[BaseHTTPRequestHandler]:
    class Handler(_FunctionRequestHandler):
        front_end = front

    return Handler


class _FunctionRequestHandler(BaseHTTPRequestHandler):
    front_end: HttpFrontEnd
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection does not hold its thread for ever
    server_version = "sandbox-functions-host"

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def setup(self) -> None:
        threading.current_thread().name = f"{THREAD_PREFIX}http-connection"
        super().setup()
        self.front_end.opened(self.connection)

    def finish(self) -> None:
        self.front_end.closed(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default access log prints the request line, query string (and ?code= key) included

    def _handle(self) -> None:
        began = time.perf_counter()
        path = urlsplit(self.path).path
        status = self._dispatch()
        logger.info(
            "http request",
            extra=fields(
                event="http",
                method=self.command,
                path=path,
                status=status,
                duration_ms=round((time.perf_counter() - began) * 1000, 1),
            ),
        )

    def _dispatch(self) -> int:
        front = self.front_end
        if front.closing:
            return self._reply(503, b"Host is stopping", close=True)
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        presented = self.headers.get("x-functions-key") or query.get("code")
        if url.path.lower().startswith(_ADMIN_FUNCTIONS):
            return self._admin(unquote(url.path[len(_ADMIN_FUNCTIONS) :]), presented)
        function_path = front.function_path(url.path)
        candidates = front.routes.match(function_path) if function_path is not None else []
        if not candidates:
            return self._reply(404, b"", close=True)
        allowed = [(spec, params) for spec, params in candidates if _allows(spec, self.command)]
        if not allowed:
            methods = sorted({m for spec, _ in candidates if spec.http for m in spec.http.methods or ()})
            return self._reply(405, b"", headers={"Allow": ", ".join(methods)}, close=True)
        spec, route_params = allowed[0]
        assert spec.http is not None
        if not front.keys.permits(spec.http.auth_level, presented, spec.name):
            return self._reply(401, b"", close=True)
        try:
            body = self._read_body()
        except _BodyTooLargeError:
            return self._reply(413, b"Request body too large", close=True)
        request = func.HttpRequest(
            method=self.command,
            url=f"http://{self.headers.get('Host', front.base_url.removeprefix('http://'))}{self.path}",
            headers={k: ", ".join(self.headers.get_all(k, [])) for k in self.headers},
            params=query,
            route_params=route_params,
            body=body,
        )
        try:
            outcome = front.invoker.submit(spec, request).result(timeout=front.response_limit)
        except HostStoppingError:
            return self._reply(503, b"Host is stopping", close=True)
        except concurrent.futures.TimeoutError:
            # The front end stops waiting; the invocation goes on (until functionTimeout) with nobody to answer.
            return self._reply(front.cut_status, b"The function did not answer in time", close=True)
        if not outcome.invocation.succeeded:
            message = f"Internal Server Error (invocation {outcome.invocation.id})".encode()
            return self._reply(500, message)
        return self._respond(spec, outcome.value)

    def _respond(self, spec: FunctionSpec, value: Any) -> int:
        if isinstance(value, func.HttpResponse):
            headers = dict(value.headers.items())
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = f"{value.mimetype}; charset={value.charset}"
            return self._reply(value.status_code, value.get_body(), headers=headers)
        if isinstance(value, str | bytes):
            body = value.encode() if isinstance(value, str) else value
            return self._reply(200, body, headers={"Content-Type": "text/plain; charset=utf-8"})
        if value is None:
            return self._reply(204, b"")
        logger.error(
            "function returned an unsupported value",
            extra=fields(event="http_error", function=spec.name, returned=type(value).__name__),
        )
        return self._reply(500, b"Internal Server Error")

    def _admin(self, name: str, presented: str | None) -> int:
        if self.command != "POST":
            return self._reply(405, b"", headers={"Allow": "POST"}, close=True)
        if not self.front_end.keys.is_master(presented):
            return self._reply(401, b"", close=True)
        try:
            body = self._read_body()
        except _BodyTooLargeError:
            return self._reply(413, b"Request body too large", close=True)
        try:
            document = json.loads(body or b"{}")
            payload = document.get("input", "") if isinstance(document, dict) else ""
        except ValueError:
            return self._reply(400, b'Expected a JSON body such as {"input": ""}')
        status = self.front_end.admin_invoke(name, str(payload or ""))
        return self._reply(status, b"")

    def _read_body(self) -> bytes:
        limit = self.front_end.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise _BodyTooLargeError
        return self.rfile.read(length) if length else b""

    def _read_chunked(self, limit: int) -> bytes:
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if len(body) + size > limit:
                raise _BodyTooLargeError
            body += self.rfile.read(size)
            self.rfile.readline()

    def _reply(self, status: int, body: bytes, *, headers: dict[str, str] | None = None, close: bool = False) -> int:
        # `close`: the request body may be unread, so the connection cannot carry another request.
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close or self.front_end.closing:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status


def _allows(spec: FunctionSpec, method: str) -> bool:
    return spec.http is not None and (spec.http.methods is None or method.upper() in spec.http.methods)
