"""python -m bench.openair_read [--bookings N] [--latency-ms N]: read every booking through the client.

Starts the OpenAir simulator as a subprocess on a free port with N generated bookings (default 10,000), reads
them all with `OpenAirClient.read_bookings()` and prints requests made and records per second, then one JSON
line with the figures. A measurement, not a test: nothing is asserted beyond "every booking came back".
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sandbox.processes import run_printing_url
from sandbox.sample import CREDENTIALS
from shared.openair import OpenAirClient
from shared.secrets import EnvironmentSecrets
from shared.settings import OpenAirSettings


def generated(bookings: int, users: int = 200) -> dict[str, Any]:
    stamp = "2026-01-05 08:00:00"
    records: dict[str, list[dict[str, Any]]] = {"User": [], "Booking": []}
    for i in range(users):
        records["User"].append({"id": str(1 + i), "created": stamp, "updated": stamp, "name": f"User {i}",
                                "nickname": f"user{i}", "active": "1", "timezone": "America/New_York",
                                "addr": {"email": f"user{i}@contoso.com"}})  # fmt: skip
    start = dt.date(2026, 1, 5)
    for i in range(bookings):
        day = start + dt.timedelta(days=i % 300)
        timed = i % 4 == 0
        records["Booking"].append({
            "id": str(100_000 + i), "created": stamp, "updated": stamp, "userid": str(1 + i % users),
            "projectid": "7", "project_taskid": "", "customerid": "3", "booking_typeid": "2",
            "startdate": day.isoformat(), "enddate": day.isoformat(),
            "starttime": f"{day} 09:00:00" if timed else "", "endtime": f"{day} 12:00:00" if timed else "",
            "hours": "3.00" if timed else "8.00", "percentage": "100", "as_percentage": "0",
            "notes": f"Generated booking {i}", "approval_status": "A", "externalid": "", "ownerid": "",
            "repeatid": "",
        })  # fmt: skip
    return {"company": {"id": "demo", "timezone": "America/New_York"}, "accounts": [CREDENTIALS], "records": records}


async def read_all(url: str) -> tuple[int, int, float]:
    settings = OpenAirSettings.model_validate(
        {"OPENAIR_BASE_URL": url, "OPENAIR_COMPANY": "demo", "OPENAIR_USER": "admin",
         "OPENAIR_COMPANY_TIMEZONE": "America/New_York"}
    )  # fmt: skip
    secrets = EnvironmentSecrets({"OPENAIR_PASSWORD": "demo-password", "OPENAIR_API_KEY": "demo-key"})
    async with OpenAirClient(settings, secrets) as client:
        started = time.perf_counter()
        bookings = await client.read_bookings()
        elapsed = time.perf_counter() - started
        return len(bookings), client.requests_made, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.openair_read", description=__doc__)
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated per-request latency")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "openair.json"
        data.write_text(json.dumps(generated(args.bookings)))
        argv = [sys.executable, "-m", "sandbox.openair", "--port", "0", "--data", str(data)]
        argv += ["--latency-ms", str(args.latency_ms)]
        with run_printing_url(argv) as started:
            count, requests, elapsed = asyncio.run(read_all(started.first_line))
    if count != args.bookings:
        raise SystemExit(f"read {count} bookings, expected {args.bookings}")
    rate = count / elapsed if elapsed else float("inf")
    print(f"bookings read:  {count}")
    print(f"requests made:  {requests}")
    print(f"elapsed:        {elapsed:.2f} s")
    print(f"records/second: {rate:,.0f}")
    figures = {
        "benchmark": "openair_read",
        "bookings": count,
        "requests": requests,
        "seconds": round(elapsed, 3),
        "records_per_second": round(rate, 1),
        "latency_ms": args.latency_ms,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
