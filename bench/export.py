"""python -m bench.export: the export engine at tenant scale, through the real adapters.

Azurite + the OpenAir simulator + the Graph simulator (Exchange's 4-per-mailbox concurrency on, some latency)
as subprocesses; the planner and the mailbox workers run in this process, the workers concurrently as the queue
fan-out would run them. Reports, per phase: OpenAir requests, Graph HTTP requests (and per event written),
wall time, and with `--trace-memory` peak Python memory (tracemalloc, which slows the traced code: use that run
for memory, not for time).

Phases: initial export of U users × R records; an incremental run after changing 1% of the records; an idle run.
`--idle-scaling 10,100,1000` then shows that an idle run costs a constant number of OpenAir requests and no Graph
request whatever the number of users (each tenant gets 2 records per user, exported once, then an idle run).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sandbox.azurite import azurite
from sandbox.graph.control import GraphControl
from sandbox.offline import product_settings
from sandbox.openair.control import SimulatorControl
from sandbox.processes import run_printing_url
from sandbox.sample import CREDENTIALS
from shared.admin.mappings import refresh_mappings
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets
from shared.sync.mailbox import MailboxIncomplete, export_mailbox
from shared.sync.planner import plan_export

ZONES = [("Europe/Berlin", "W. Europe Standard Time"), ("America/New_York", "Eastern Standard Time"),
         ("Asia/Kolkata", "India Standard Time")]  # fmt: skip
STAMP = "2026-11-01 08:00:00"


def company(users: int, records: int, seed: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = random.Random(seed)
    stamp = {"created": STAMP, "updated": STAMP}
    oa: dict[str, list[dict[str, Any]]] = {"User": [], "Booking": [], "BookingType": [], "Customer": [], "Project": []}
    oa["BookingType"] = [
        {"id": "1", **stamp, "name": "Confirmed", "calendar_export_type": "Set event time as busy"},
        {"id": "2", **stamp, "name": "Tentative", "calendar_export_type": "Set event time as tentative"},
    ]
    oa["Customer"] = [{"id": "10", **stamp, "name": "Northwind Traders"}]
    oa["Project"] = [{"id": "20", **stamp, "name": "ERP rollout", "customerid": "10"}]
    graph_users = []
    next_id = 1000
    for u in range(users):
        zone, windows = ZONES[u % len(ZONES)]
        email = f"consultant{u:05d}@contoso.com"
        oa["User"].append({"id": str(u + 1), **stamp, "name": f"Consultant {u}", "active": "1", "timezone": zone,
                           "addr": {"email": email}})  # fmt: skip
        graph_users.append({"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, email)), "displayName": f"Consultant {u}",
                            "mail": email, "userPrincipalName": email, "proxyAddresses": [f"SMTP:{email}"],
                            "mailboxSettings": {"timeZone": windows}})  # fmt: skip
        for _ in range(records):
            day = dt.date(2026, 12, 1) + dt.timedelta(days=rng.randint(0, 150))
            timed = rng.random() < 0.3
            oa["Booking"].append({
                "id": str(next_id), **stamp, "userid": str(u + 1), "projectid": "20", "customerid": "10",
                "booking_typeid": rng.choice("12"), "startdate": day.isoformat(),
                "enddate": (day + dt.timedelta(days=0 if timed else rng.randint(0, 4))).isoformat(),
                "starttime": f"{day} 09:00:00" if timed else "", "endtime": f"{day} 12:00:00" if timed else "",
                "hours": "3.00" if timed else "8.00", "notes": "", "approval_status": "A",
            })  # fmt: skip
            next_id += 1
    openair = {"company": {"id": "demo", "timezone": "America/New_York"}, "accounts": [CREDENTIALS], "records": oa}
    return openair, {"tenantId": str(uuid.uuid4()), "users": graph_users, "events": {}}


def write_data(folder: Path, openair: dict[str, Any], graph: dict[str, Any]) -> tuple[Path, Path]:
    paths = folder / "openair.json", folder / "graph.json"
    paths[0].write_text(json.dumps(openair))
    paths[1].write_text(json.dumps(graph))
    return paths


async def measured(
    name: str,
    work: Callable[[], Awaitable[dict[str, Any]]],
    sims: tuple[SimulatorControl, GraphControl],
    trace_memory: bool = False,
) -> dict[str, Any]:
    openair, graph = sims
    graph.reset_counters()
    before = openair.stats()["requests"]
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    extra = await work()
    seconds = time.perf_counter() - started
    peak = None
    if trace_memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    counters = graph.counters()
    writes = sum(v for k, v in counters.get("batch_items", {}).items())
    result = {
        "phase": name,
        "seconds": round(seconds, 2),
        "openair_requests": openair.stats()["requests"] - before,
        "graph_requests": counters["http_total"],
        "graph_batch_items": writes,
        "traced": trace_memory,
        "peak_python_mb": round(peak / 2**20, 1) if peak is not None else None,
        **extra,
    }
    if writes:
        result["graph_requests_per_event"] = round(counters["http_total"] / writes, 4)
    return result


async def export_once(services: Services, concurrency: int) -> dict[str, Any]:
    store = services.store()
    plan = await plan_export(store=store, openair=services.openair())
    gate = asyncio.Semaphore(concurrency)
    totals = {"created": 0, "updated": 0, "deleted": 0, "failed": 0}

    async def one(user_id: str) -> None:
        async with gate:
            try:
                report = await export_mailbox(user_id, store=store, calendar=services.calendar())
            except MailboxIncomplete:
                totals["failed"] += 1
                return
            for key in ("created", "updated", "deleted", "failed"):
                totals[key] += getattr(report, key)

    await asyncio.gather(*(one(u) for u in plan.users_with_work))
    return {"mailboxes_with_work": len(plan.users_with_work), **totals}


async def scenario(
    users: int, records: int, latency_ms: int, concurrency: int, change_fraction: float, trace_memory: bool = False
) -> list[dict[str, Any]]:
    openair_data, graph_data = company(users, records)
    with tempfile.TemporaryDirectory() as tmp:
        oa_file, graph_file = write_data(Path(tmp), openair_data, graph_data)
        py = sys.executable
        with (
            azurite() as storage,
            run_printing_url(
                [py, "-m", "sandbox.openair", "--port", "0", "--data", str(oa_file), "--latency-ms", str(latency_ms)]
            ) as oa,  # fmt: skip
            run_printing_url(
                [
                    py,
                    "-m",
                    "sandbox.graph",
                    "--port",
                    "0",
                    "--data",
                    str(graph_file),
                    "--latency-ms",
                    str(latency_ms),
                    "--mailbox-concurrency",
                    "4",
                ]
            ) as graph,  # fmt: skip
        ):
            env = product_settings(storage.connection_string, oa.first_line, graph.first_line)
            sims = (SimulatorControl(oa.first_line), GraphControl(graph.first_line))
            services = Services(env, EnvironmentSecrets(env))
            store = services.store()
            store.ensure_tables()
            store.put_setting("MaxDeletionsPerRun", 100_000)
            await refresh_mappings(store, services.openair(), services.calendar())
            results = [await measured("initial", lambda: export_once(services, concurrency), sims, trace_memory)]
            bookings = sims[0].records("Booking")
            changed = random.Random(2).sample(bookings, max(1, int(len(bookings) * change_fraction)))
            for booking in changed:
                sims[0].modify("Booking", booking["id"], {"hours": "5.50"})
            again = await measured("incremental", lambda: export_once(services, concurrency), sims, trace_memory)
            results.append(again)
            results[-1]["records_changed"] = len(changed)
            results.append(await measured("idle", lambda: export_once(services, concurrency), sims, trace_memory))
            await services.aclose()
    for result in results:
        result.update(users=users, records_per_user=records, latency_ms=latency_ms)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32, help="mailbox workers at once (the queue fan-out)")
    parser.add_argument("--change-fraction", type=float, default=0.01)
    parser.add_argument("--idle-scaling", default="", help="e.g. 10,100,1000: idle cost per tenant size")
    parser.add_argument("--trace-memory", action="store_true", help="a memory run (tracemalloc); not for timing")
    args = parser.parse_args()
    if args.idle_scaling:
        for users in (int(n) for n in args.idle_scaling.split(",")):
            for result in asyncio.run(scenario(users, 2, args.latency_ms, args.concurrency, 0.01, args.trace_memory)):
                if result["phase"] == "idle":
                    print(json.dumps({"benchmark": "export-idle", **result}), flush=True)
        return
    for result in asyncio.run(
        scenario(args.users, args.records, args.latency_ms, args.concurrency, args.change_fraction, args.trace_memory)
    ):
        print(json.dumps({"benchmark": "export", **result}), flush=True)


if __name__ == "__main__":
    main()
