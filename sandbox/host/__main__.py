"""`python -m sandbox.host`: run the function app locally until SIGTERM or SIGINT.

The first line on stdout is the base URL (`http://127.0.0.1:PORT`); everything else goes to stderr as
JSON log lines. Keys not set in the settings are generated for this run and shown once on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from sandbox.host import logs
from sandbox.host.annotations import AnnotationRefusedError
from sandbox.host.keys import KEY_SETTINGS
from sandbox.host.loader import AppLoadError
from sandbox.host.localhost import LocalHost
from sandbox.host.settings import AppSettings, export_to_environ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.host", description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the FunctionApp")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="0 for a free port (default: LocalHttpPort or 7071)")
    parser.add_argument("--settings", type=Path, default=Path("local.settings.json"), help="local settings file")
    parser.add_argument("--host-json", type=Path, default=Path("host.json"), help="host.json to honour")
    parser.add_argument("--no-timers", action="store_true", help="no timers on schedule (on demand still works)")
    parser.add_argument("--no-queues", action="store_true", help="do not poll queue triggers")
    parser.add_argument("--max-body-mb", type=int, default=100, help="request body limit in MB (413 above it)")
    parser.add_argument("--drain-timeout", type=float, default=30.0, help="seconds to let invocations finish on stop")
    args = parser.parse_args(argv)

    logs.configure()
    settings = AppSettings.load(args.settings)
    # The app's own code reads os.environ, as on Azure where app settings are environment variables.
    export_to_environ(settings)
    try:
        host = LocalHost(
            args.app,
            settings,
            host_json=args.host_json,
            host=args.host,
            port=_port(args.port, args.settings),
            timers=not args.no_timers,
            queues=not args.no_queues,
            max_body_bytes=args.max_body_mb * 1024 * 1024,
            drain_timeout=args.drain_timeout,
        )
    except (AppLoadError, AnnotationRefusedError) as refused:
        # As the worker does: the whole app is refused, with what to fix, and nothing is served.
        print(f"host not started: {refused}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    host.start()
    print(host.base_url, flush=True)
    if host.keys.generated:
        # Shown on the console only; never written to a log file or to stdout.
        names = {setting: kind for kind, setting in KEY_SETTINGS.items()}
        shown = {setting: getattr(host.keys, names[setting]) for setting in host.keys.generated}
        print(f"Generated keys for this run (set them in settings to choose): {json.dumps(shown)}", file=sys.stderr)
    stop.wait()
    drained = host.stop()
    sys.stdout.flush()
    sys.stderr.flush()
    if not drained:
        # Worker threads of abandoned invocations would keep the interpreter alive; the stop is still clean.
        os._exit(0)
    return 0


def _port(port: int | None, settings_path: Path) -> int:
    if port is not None:
        return port
    if settings_path.exists():
        document = json.loads(settings_path.read_text(encoding="utf-8"))
        local_port = document.get("Host", {}).get("LocalHttpPort")
        if local_port:
            return int(local_port)
    return 7071  # Core Tools' default, so URLs in docs work with either host


if __name__ == "__main__":
    sys.exit(main())
