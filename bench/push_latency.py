"""python -m bench.push_latency: save-to-event latency of the push export, 100 saves in a burst.

Starts the offline world (Azurite, both simulators as subprocesses, the local function host from
`function_app.py`), maps the sample company, runs one timer export so the mailboxes are in steady state, points
the OpenAir simulator's "After save" form script at the host, then saves `--saves` new bookings "in the OpenAir
UI" from `--threads` threads at once (spread over `--users` users). Each save's latency is from the start of the
save to the moment its event is first seen in the Graph simulator (polled every `--poll-ms`). Prints one JSON
line: p50/p95/max save-to-event seconds, the save's own duration (the user's wait, form script included) and
what the host ran.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import threading
import time
from typing import Any

from sandbox.demo.export import openair_key
from sandbox.demo.world import PUSH_SECRET, offline_world
from sandbox.graph.control import GraphControl
from sandbox.host.localhost import LocalHost
from sandbox.openair.control import SimulatorControl
from shared.admin.mappings import refresh_mappings
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.push_latency", description=__doc__)
    parser.add_argument("--saves", type=int, default=100)
    parser.add_argument("--threads", type=int, default=20, help="concurrent saves (people pressing Save)")
    parser.add_argument("--users", type=int, default=10, help="distinct users the bookings belong to")
    parser.add_argument("--poll-ms", type=float, default=50.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()

    import asyncio

    with offline_world() as env:
        os.environ.update(env)
        asyncio.run(_map(Services(env, EnvironmentSecrets(env))))
        store = Services(env, EnvironmentSecrets(env)).store()
        mapped = store.load_mappings().users
        with LocalHost("function_app:app", env, timers=False) as host:
            openair = SimulatorControl(env["OPENAIR_BASE_URL"], timeout=60)
            graph = GraphControl(env["GRAPH_BASE_URL"])
            host.fire_timer("export_timer")
            host.drain_queues(timeout=300)
            openair.form_script(f"{host.base_url}/api/openair/changed", PUSH_SECRET, env["OPENAIR_PUSH_KEY"])
            users = sorted(mapped)[: args.users]
            # Templates among bookings that are events now (not of a "Do not export" type, which no save would
            # bring to Outlook).
            exported = {openair_key(e) for u in users for e in graph.events(mapped[u].mailbox_id)}
            templates = {
                u: next(b for b in openair.records("Booking")
                        if b["userid"] == u and f"openair:booking:{b['id']}" in exported)
                for u in users
            }  # fmt: skip
            graph.reset_counters()
            openair_before = openair.stats()
            cpu_before, load_before = time.process_time(), os.getloadavg()[0]

            started: dict[str, float] = {}  # event key -> save start
            save_seconds: list[float] = []
            lock = threading.Lock()

            def save(n: int) -> None:
                user = users[n % len(users)]
                template = templates[user]
                fields = {k: template[k] for k in ("projectid", "customerid", "booking_typeid", "userid")}
                begin = time.monotonic()
                booking = openair.create("Booking", {**fields, "startdate": template["startdate"],
                                                     "enddate": template["startdate"], "hours": "1.00",
                                                     "percentage": "10", "notes": f"burst {n}"})  # fmt: skip
                with lock:
                    started[f"openair:booking:{booking['id']}"] = begin
                    save_seconds.append(time.monotonic() - begin)

            seen: dict[str, float] = {}
            with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
                futures = [pool.submit(save, n) for n in range(args.saves)]
                deadline = time.monotonic() + args.timeout
                while time.monotonic() < deadline:
                    for user in users:
                        events = graph.events(mapped[user].mailbox_id)
                        now = time.monotonic()
                        for event in events:
                            seen.setdefault(openair_key(event), now)
                    with lock:
                        pending = [k for k in started if k not in seen]
                        done = len(started) == args.saves
                    if done and not pending:
                        break
                    time.sleep(args.poll_ms / 1000)
                for future in futures:
                    future.result()
            host.drain_queues(timeout=60)
            cpu_seconds = time.process_time() - cpu_before
            openair_after = openair.stats()
            graph_counters = graph.counters()
            batches = sum(n for route, n in graph_counters["routes"].items() if "$batch" in route)
            openair_requests = openair_after["requests"] - openair_before["requests"]
            latencies = [seen[k] - begin for k, begin in started.items() if k in seen]
            duplicates = sum(
                1 for user in users for k, n in _counts(graph.events(mapped[user].mailbox_id)).items()
                if k in started and n > 1
            )  # fmt: skip
            result: dict[str, Any] = {
                "bench": "push_latency",
                "saves": args.saves,
                "threads": args.threads,
                "users": len(users),
                "arrived": len(latencies),
                "duplicates": duplicates,
                "save_to_event_p50_s": round(statistics.median(latencies), 3) if latencies else None,
                "save_to_event_p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
                "save_to_event_max_s": round(max(latencies), 3) if latencies else None,
                "save_p50_ms": round(statistics.median(save_seconds) * 1000),
                "save_p95_ms": round(percentile(save_seconds, 0.95) * 1000),
                "form_script": {
                    k: v
                    for k, v in openair.form_script_state().items()
                    if k in ("posted", "failed", "last_status", "last_error")
                },
                "export_record_invocations": host.invocations.count("export_record"),
                "export_record_failures": host.invocations.count("export_record", succeeded=False),
                "export_record_p50_s": _median([i.duration for i in host.invocations.all("export_record")], 3),
                "endpoint_p50_s": _median([i.duration for i in host.invocations.all("openair_changed")], 4),
                "graph_requests": graph_counters["http_total"],
                # One `$batch` per pass that wrote: saves per pass is how much a user's pending saves coalesced.
                "graph_batches": batches,
                "saves_per_batch": round(args.saves / batches, 2) if batches else None,
                # api.pl requests during the burst (the saves themselves go through the simulator's control API)
                "openair_requests": openair_requests,
                "openair_requests_per_save": round(openair_requests / args.saves, 2),
                "openair_by_command": {
                    k: v - openair_before["by_command"].get(k, 0)
                    for k, v in openair_after["by_command"].items()
                    if v != openair_before["by_command"].get(k, 0)
                },
                "poll_ms": args.poll_ms,
                # This process runs the function host (every invocation) and the polling above; the simulators
                # and Azurite are processes of their own.
                "host_cpu_ms_per_save": round(cpu_seconds * 1000 / args.saves, 1),
                "cpus": os.cpu_count(),
                # Seconds are only comparable at a similar load: the 1-minute load average before and after.
                "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            }
            print(json.dumps(result), flush=True)


async def _map(services: Services) -> None:
    try:
        store = services.store()
        store.ensure_tables()
        await refresh_mappings(store, services.openair(), services.calendar())
    finally:
        await services.aclose()


def _median(values: list[float], digits: int) -> float | None:
    return round(statistics.median(values), digits) if values else None


def _counts(events: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for event in events:
        out[openair_key(event)] = out.get(openair_key(event), 0) + 1
    return out


if __name__ == "__main__":
    main()
