"""python -m bench.graph_write: 10,000 event creates across 100 mailboxes through the Graph gateway.

Starts the Graph simulator as a subprocess with Exchange's per-mailbox limits on (4 concurrent requests) and
some latency, writes every mailbox's events concurrently through `CalendarGateway.apply` (JSON $batch, one
batch in flight per mailbox) and prints one JSON line: HTTP requests, requests per event (the floor with
batching is 1/20 = 0.05), events per second and the 429s seen.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sandbox.graph.control import GraphControl
from sandbox.processes import run_printing_url
from shared.domain.events import CreateEvent, EventDraft
from shared.graph.client import build_client
from shared.graph.gateway import CalendarGateway
from shared.secrets import EnvironmentSecrets
from shared.settings import GraphSettings

ZONES = [("Europe/Berlin", "W. Europe Standard Time"), ("America/New_York", "Eastern Standard Time")]


def tenant(mailboxes: int) -> dict[str, Any]:
    users = []
    for n in range(mailboxes):
        address = f"bench.user{n:03d}@contoso.com"
        users.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, address)), "displayName": f"Bench User {n}", "mail": address,
            "userPrincipalName": address, "proxyAddresses": [f"SMTP:{address}"],
            "mailboxSettings": {"timeZone": ZONES[n % 2][1]},
        })  # fmt: skip
    return {"tenantId": str(uuid.uuid4()), "users": users, "events": {}}


def writes(mailbox: int, count: int) -> list[CreateEvent]:
    zone = ZONES[mailbox % 2][0]
    out = []
    for n in range(count):
        day = dt.datetime(2027, 3, 1) + dt.timedelta(days=n % 60)
        all_day = n % 3 == 0
        draft = EventDraft(
            openair_key=f"openair:booking:{mailbox}-{n}",
            subject=f"OA Booking: 8 hrs for Contoso : Project {n}",
            body="Customer: Contoso\nProject: Bench",
            start=day if all_day else day.replace(hour=9),
            end=day + dt.timedelta(days=1) if all_day else day.replace(hour=17),
            time_zone=zone,
            is_all_day=all_day,
            show_as="free" if all_day else "busy",
        )
        out.append(CreateEvent(draft=draft, transaction_id=f"bench-{mailbox}-{n}"))
    return out


async def run(url: str, mailboxes: list[str], per_mailbox: int) -> dict[str, Any]:
    settings = GraphSettings.model_validate({"GRAPH_BASE_URL": url})
    client = build_client(settings, EnvironmentSecrets({}))
    gateway = CalendarGateway(client, settings)
    plans = [writes(i, per_mailbox) for i in range(len(mailboxes))]
    started = time.perf_counter()
    results = await asyncio.gather(*(gateway.apply(m, plan) for m, plan in zip(mailboxes, plans, strict=True)))
    seconds = time.perf_counter() - started
    await client.aclose()
    flat = [r for batch in results for r in batch]
    events = len(flat)
    return {
        "mailboxes": len(mailboxes),
        "events": events,
        "created": sum(1 for r in flat if r.status == 201),
        "failed": sum(1 for r in flat if not r.ok),
        "seconds": round(seconds, 2),
        "http_requests": gateway.requests_made,
        "requests_per_event": round(gateway.requests_made / events, 4),
        "events_per_second": round(events / seconds, 1),
        "throttled_429": gateway.throttled_seen,
        "peak_in_flight_per_mailbox": max(gateway.peak_in_flight(m) for m in mailboxes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.graph_write", description=__doc__)
    parser.add_argument("--mailboxes", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000, help="in total, spread evenly over the mailboxes")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--mailbox-concurrency", type=int, default=4)
    args = parser.parse_args()
    data = tenant(args.mailboxes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph.json"
        path.write_text(json.dumps(data))
        argv = [sys.executable, "-m", "sandbox.graph", "--host", "127.0.0.1", "--port", "0", "--data", str(path)]
        argv += ["--latency-ms", str(args.latency_ms), "--mailbox-concurrency", str(args.mailbox_concurrency)]
        with run_printing_url(argv) as started:
            url = started.first_line
            figures = asyncio.run(run(url, [u["id"] for u in data["users"]], args.events // args.mailboxes))
            with GraphControl(url) as control:
                counters = control.counters()
    figures.update(
        latency_ms=args.latency_ms,
        mailbox_concurrency=args.mailbox_concurrency,
        simulator_http_total=counters.get("http_total"),
        simulator_statuses=counters.get("statuses"),
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
