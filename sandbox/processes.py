"""Start helper processes on free loopback ports and stop them by PID.

Shared by tests, the demo and benchmarks so none of them ever depends on a fixed port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before listening on {port}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """SIGTERM the process group by PID, then SIGKILL if it does not go."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


@dataclass(frozen=True)
class Started:
    """A child process and the first line it printed (simulators print their URL there)."""

    proc: subprocess.Popen[bytes]
    first_line: str


@contextlib.contextmanager
def run_printing_url(
    argv: Sequence[str], *, timeout: float = 30.0, env: dict[str, str] | None = None
) -> Iterator[Started]:
    """Run a server that prints its URL as its first line; stop it by PID on exit."""
    proc = subprocess.Popen(
        list(argv),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=None,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = _read_first_line(proc, timeout)
        yield Started(proc, line)
    finally:
        stop(proc)


def _read_first_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    import selectors

    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not sel.select(remaining):
            raise TimeoutError(f"{proc.args!r} printed no URL within {timeout:.0f} s")
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            raise RuntimeError(f"{proc.args!r} exited with code {proc.wait()} before printing its URL")
        buf += chunk
    return buf.split(b"\n", 1)[0].decode().strip()


def serve_until_signalled(url: str, stop_server: Callable[[], None]) -> None:
    """A simulator's command line: print its URL as the first line, serve until SIGTERM/SIGINT, stop cleanly."""
    print(url, flush=True)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    done.wait()
    stop_server()
