"""python -m sandbox.graph --host 127.0.0.1 --port N [--data FILE] [--token T] [--latency-ms N] …

Prints the root URL (…/v1.0) as the first line of stdout, then serves until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sandbox.graph.options import DELTA_EXPIRED_CODES, RETRY_AFTER_FORMATS
from sandbox.graph.server import GraphSimulator
from sandbox.processes import serve_until_signalled


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.graph", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--data", type=Path, help="graph.json of the sample company's shape (default: sample, today)")
    parser.add_argument(
        "--incumbent",
        action="store_true",
        help="the sample's mailboxes hold the Exchange Integration Manager's events (without --data)",
    )
    parser.add_argument("--token", help="accept only this bearer token (default: any)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--mailbox-concurrency", type=int, default=4)
    parser.add_argument("--mailbox-budget", type=int, default=10_000)
    parser.add_argument("--budget-window-s", type=float, default=600.0)
    parser.add_argument("--retry-after-format", choices=RETRY_AFTER_FORMATS, default="decimal")
    parser.add_argument("--delta-expired-status", type=int, choices=(400, 404, 410), default=410)
    parser.add_argument("--delta-expired-code", choices=DELTA_EXPIRED_CODES, default="syncStateNotFound")
    parser.add_argument(
        "--allow-http-loopback-webhooks",
        action="store_true",
        help="accept http://127.0.0.1 notification URLs (Graph itself accepts https only)",
    )
    args = parser.parse_args(argv)
    data: dict[str, Any] | None = json.loads(args.data.read_text()) if args.data else None
    if data is None and args.incumbent:
        from sandbox.sample import build

        data = build(incumbent=True)["graph"]
    sim = GraphSimulator(
        data,
        token=args.token,
        latency_ms=args.latency_ms,
        mailbox_concurrency=args.mailbox_concurrency,
        mailbox_budget=args.mailbox_budget,
        budget_window_s=args.budget_window_s,
        retry_after_format=args.retry_after_format,
        delta_expired_status=args.delta_expired_status,
        delta_expired_code=args.delta_expired_code,
        allow_http_loopback_webhooks=args.allow_http_loopback_webhooks,
    )
    serve_until_signalled(sim.start(args.host, args.port), sim.stop)
    sys.exit(0)


if __name__ == "__main__":
    main()
