"""python -m sandbox.openair --host 127.0.0.1 --port N [--data FILE] [--rate-per-minute N] [--rate-per-day N]
[--latency-ms N] [--filter-boundary exclusive|inclusive] [--empty-read-status 601|0]
[--form-script-url URL --form-script-secret S [--form-script-key K]]

Prints its base URL (the value for OPENAIR_BASE_URL) as the first line of stdout, then serves until SIGTERM.
--data takes JSON or YAML of the sample company's shape; without it the sample company is served.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sandbox.openair.server import OpenAirSimulator
from sandbox.processes import serve_until_signalled


def load_data(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data: dict[str, Any] = yaml.safe_load(text)
        return data
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.openair", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--data", type=Path, help="openair.json/.yaml (default: the sample company, today)")
    parser.add_argument("--rate-per-minute", type=int, default=0, help="requests per account per 60 s (0: no limit)")
    parser.add_argument("--rate-per-day", type=int, default=0, help="requests per account per 24 h (0: no limit)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every api.pl answer")
    parser.add_argument("--filter-boundary", choices=("exclusive", "inclusive"), default="exclusive")
    parser.add_argument("--empty-read-status", type=int, choices=(601, 0), default=601)
    parser.add_argument("--form-script-url", default="", help="where the After save form script posts (form_script.py)")
    parser.add_argument("--form-script-secret", default="", help="its HMAC secret (OPENAIR_PUSH_SECRET)")
    parser.add_argument("--form-script-key", default="", help="function key it sends as x-functions-key")
    args = parser.parse_args(argv)
    sim = OpenAirSimulator(
        load_data(args.data) if args.data else None,
        rate_per_minute=args.rate_per_minute,
        rate_per_day=args.rate_per_day,
        latency_ms=args.latency_ms,
        filter_boundary=args.filter_boundary,
        empty_read_status=args.empty_read_status,
    )
    sim.service.form_script.configure(args.form_script_url, args.form_script_secret, args.form_script_key)
    serve_until_signalled(sim.start(args.host, args.port), sim.stop)
    sys.exit(0)


if __name__ == "__main__":
    main()
