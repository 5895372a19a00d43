"""python -m bench.tenant_scale: the export at tenant scale under Exchange-like limits, against the floor.

The OpenAir and Graph simulators run as subprocesses with latency (`--latency-ms`, `--openair-latency-ms`) and
Exchange's per-mailbox limits on (4 concurrent requests, `--mailbox-budget` requests per `--budget-window-s`);
the planner and the mailbox workers run in this process, `--workers` mailboxes at a time as the queue fan-out
would run them (host.json: batchSize 16 + newBatchThreshold 8 = 24 per instance). Table storage is either the
in-memory twin indexed by partition (`--tables memory`, same ETag and batch semantics: what the product costs),
or Azurite
(`--tables azurite`: adds the single-threaded emulator's cost, which is not Azure's).

Per phase (initial, incremental after changing `--change-fraction` or `--change-count` bookings, idle) it prints
one JSON line: wall seconds, the floor the limits set and `measured_over_floor` (whole run, planner, fan-out),
requests, busy seconds per layer (OpenAir, Graph, table storage), CPU seconds per process and the bench process's
CPU per event written. Timing runs untraced. `--trace-memory` makes a separate memory run: tracemalloc peaks of
the planner and of one mailbox worker (that worker runs alone first; the others then run concurrently,
untraced); tracemalloc slows traced code several times, so that run's seconds and CPU are not timing figures
(its lines say `"traced": true`). The idle run
comes right after the incremental one, so within the watermark overlap it re-reads the records just changed (and
writes nothing; `records_reread` counts them); with `--overlap-minutes 0` it still re-reads the changes the
simulator stamped after the incremental run began (it stamps a burst a second per change ahead of its clock). A
second idle run (`idle-settled`) re-reads nothing: its table calls are the planner's fixed cost, the same whatever
the number of users (one read per table, `SyncStore.tenant_snapshot`).

The floor (the least time Exchange's limits and the modelled worker count allow):
- a mailbox's writes: one $batch in flight (a batch of n items keeps min(n, 4) of the 4 slots busy), each batch
  costs one round trip plus ceil(n / 4) item latencies; and no faster than its request budget allows;
- the fan-out: mailboxes with work / workers, rounded up, times one mailbox's floor (equal mailboxes);
- the planner: its OpenAir requests, which the client sends one after another, times the OpenAir latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.export import company, write_data
from bench.layers import CpuMeter, LayerClock, Timed, layer_figures
from sandbox.azurite import azurite
from sandbox.graph.control import GraphControl
from sandbox.offline import product_settings
from sandbox.openair.control import SimulatorControl
from sandbox.processes import run_printing_url
from shared.admin.mappings import refresh_mappings
from shared.graph.batch import MAX_BATCH_REQUESTS, OUTLOOK_BATCH_PARALLELISM
from shared.runtime import Services, table_backend
from shared.secrets import EnvironmentSecrets
from shared.settings import StorageSettings, load
from shared.store.store import SyncStore
from shared.sync.mailbox import MailboxIncomplete, export_mailbox
from shared.sync.planner import plan_export
from twins.tables import MemoryTables


@dataclass(frozen=True)
class Limits:
    graph_latency_s: float
    openair_latency_s: float
    mailbox_concurrency: int
    mailbox_budget: int
    budget_window_s: float
    workers: int


def mailbox_floor(writes: int, limits: Limits) -> float:
    """The least time Exchange's limits allow for `writes` event writes to one mailbox."""
    seconds = 0.0
    for start in range(0, writes, MAX_BATCH_REQUESTS):
        items = min(MAX_BATCH_REQUESTS, writes - start)
        parallel = min(OUTLOOK_BATCH_PARALLELISM, limits.mailbox_concurrency)
        seconds += limits.graph_latency_s * (1 + math.ceil(items / parallel))
    requests = writes + math.ceil(writes / MAX_BATCH_REQUESTS)
    budget_bound = (math.ceil(requests / limits.mailbox_budget) - 1) * limits.budget_window_s
    return max(seconds, budget_bound)


def export_floor(writes_per_mailbox: list[int], openair_requests: int, limits: Limits) -> dict[str, float]:
    """Floor of one export run: planner (sequential OpenAir reads) + fan-out in rounds of `workers` mailboxes."""
    ordered = sorted(writes_per_mailbox, reverse=True)
    rounds = [ordered[i : i + limits.workers] for i in range(0, len(ordered), limits.workers)]
    fan_out = sum(mailbox_floor(max(r), limits) for r in rounds)
    planner = openair_requests * limits.openair_latency_s
    return {"planner_floor_s": round(planner, 2), "fan_out_floor_s": round(fan_out, 2),
            "floor_s": round(planner + fan_out, 2)}  # fmt: skip


def ratio(measured: float, floor: float) -> float | None:
    return round(measured / floor, 2) if floor else None


@contextlib.contextmanager
def traced(enabled: bool) -> Iterator[dict[str, float]]:
    """tracemalloc peak (MB) of the block when `enabled`; {} filled on exit (left empty when not)."""
    out: dict[str, float] = {}
    if not enabled:
        yield out
        return
    tracemalloc.start()
    try:
        yield out
    finally:
        out["peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
        tracemalloc.stop()


class Bench:
    def __init__(self, services: Services, tables: Any, sims: tuple[SimulatorControl, GraphControl],
                 limits: Limits, cpu: CpuMeter, trace_memory: bool = False, planner_only: bool = False,
                 ) -> None:  # fmt: skip
        self.services, self.sims, self.limits, self.cpu = services, sims, limits, cpu
        self.trace_memory = trace_memory
        self.planner_only = planner_only
        self.clocks = [LayerClock("openair"), LayerClock("graph"), LayerClock("tables")]
        self.store = SyncStore(Timed(tables, self.clocks[2]))  # the services' tables, each call timed
        self.openair = Timed(services.openair(), self.clocks[0])
        self.calendar = Timed(services.calendar(), self.clocks[1])

    async def phase(self, name: str) -> dict[str, Any]:
        openair, graph = self.sims
        graph.reset_counters()
        oa_before = openair.stats()["requests"]
        for clock in self.clocks:
            clock.reset()
        self.cpu.start()
        started, cpu_started = time.perf_counter(), time.process_time()
        with traced(self.trace_memory) as planner_memory:
            plan = await plan_export(store=self.store, openair=self.openair)
        planner_s = time.perf_counter() - started
        planner_cpu_s = time.process_time() - cpu_started
        oa_requests = openair.stats()["requests"] - oa_before
        users = list(plan.users_with_work)
        writes = [len(plan.entries.get(u, [])) for u in users]
        if self.planner_only:
            # The planner's CPU per booking read, without the fan-out after it (`--planner-only`).
            return {"phase": name, "traced": self.trace_memory, "planner_s": round(planner_s, 2),
                    "planner_cpu_s": round(planner_cpu_s, 2), "entries": sum(writes),
                    "planner_cpu_ms_per_entry": round(1000 * planner_cpu_s / sum(writes), 3) if any(writes) else None,
                    "openair_requests": oa_requests, "planner_peak_mb": planner_memory.get("peak_mb")}  # fmt: skip
        totals = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0, "failed": 0, "incomplete": 0}
        worker_memory: dict[str, float] = {}
        if users:
            with traced(self.trace_memory) as worker_memory:
                await self._one(users[0], totals)
        gate = asyncio.Semaphore(self.limits.workers)

        async def worker(user_id: str) -> None:
            async with gate:
                await self._one(user_id, totals)

        await asyncio.gather(*(worker(u) for u in users[1:]))
        seconds = time.perf_counter() - started
        total_cpu_s = time.process_time() - cpu_started
        counters = graph.counters()
        floor = export_floor(writes, oa_requests, self.limits)
        cpu = self.cpu.figures()
        events = sum(writes)
        result: dict[str, Any] = {
            "phase": name,
            "traced": self.trace_memory,
            "seconds": round(seconds, 2),
            "planner_s": round(planner_s, 2),
            "fan_out_s": round(seconds - planner_s, 2),
            **floor,
            "ratio_to_floor": ratio(seconds, floor["floor_s"]),
            "measured_over_floor": {
                "run": ratio(seconds, floor["floor_s"]),
                "planner": ratio(planner_s, floor["planner_floor_s"]),
                "fan_out": ratio(seconds - planner_s, floor["fan_out_floor_s"]),
            },
            "mailboxes_with_work": len(users),
            # Records OpenAir sent again whose version is already in the mailbox (the watermark overlap re-reads).
            "records_reread": plan.counts.get("already_exported", 0),
            "events_written": sum(writes),
            **totals,
            "openair_requests": oa_requests,
            "graph_requests": counters["http_total"],
            "graph_batch_items": sum(counters.get("batch_items", {}).values()),
            "graph_429": sum(n for status, n in counters.get("statuses", {}).items() if str(status) == "429"),
            "table_calls": self.clocks[2].calls,
            "layers_busy_s": layer_figures(self.clocks),
            "cpu_s": cpu,
            "planner_cpu_s": round(planner_cpu_s, 2),
            "worker_cpu_s": round(total_cpu_s - planner_cpu_s, 2),
            # CPU of this process per event written: all of it, and the mailbox workers' part (planner excluded).
            "cpu_ms_per_event": round(1000 * total_cpu_s / events, 3) if events else None,
            "worker_cpu_ms_per_event": round(1000 * (total_cpu_s - planner_cpu_s) / events, 3) if events else None,
            "planner_peak_mb": planner_memory.get("peak_mb"),
            "worker_peak_mb": worker_memory.get("peak_mb"),
            "worker_peak_records": writes[0] if writes else 0,
        }
        if result["graph_batch_items"]:
            result["graph_requests_per_event"] = round(counters["http_total"] / result["graph_batch_items"], 4)
        return result

    async def _one(self, user_id: str, totals: dict[str, int]) -> None:
        try:
            report = await export_mailbox(user_id, store=self.store, calendar=self.calendar)
        except MailboxIncomplete:
            totals["incomplete"] += 1
            return
        for key in ("created", "updated", "deleted", "unchanged", "failed"):
            totals[key] += getattr(report, key)


def seconds_until_stamped(openair: SimulatorControl, company_zone: str) -> float:
    """How long until the simulator's clock has passed the newest `updated` stamp of its bookings."""
    zone = ZoneInfo(company_zone)
    newest = max(dt.datetime.fromisoformat(r["updated"]).replace(tzinfo=zone) for r in openair.records("Booking"))
    return max(0.0, (newest - dt.datetime.now(dt.UTC)).total_seconds() + 1.5)


async def scenario(args: argparse.Namespace, users: int) -> list[dict[str, Any]]:
    limits = Limits(args.latency_ms / 1000, args.openair_latency_ms / 1000, args.mailbox_concurrency,
                    args.mailbox_budget, args.budget_window_s, args.workers)  # fmt: skip
    openair_data, graph_data = company(users, args.records)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        oa_file, graph_file = write_data(Path(tmp), openair_data, graph_data)
        del openair_data, graph_data
        storage = stack.enter_context(azurite()) if args.tables == "azurite" else None
        oa = stack.enter_context(run_printing_url([py, "-m", "sandbox.openair", "--port", "0", "--data", str(oa_file),
                                                   "--latency-ms", str(args.openair_latency_ms)]))  # fmt: skip
        graph = stack.enter_context(run_printing_url([
            py, "-m", "sandbox.graph", "--port", "0", "--data", str(graph_file),
            "--latency-ms", str(args.latency_ms), "--mailbox-concurrency", str(args.mailbox_concurrency),
            "--mailbox-budget", str(args.mailbox_budget), "--budget-window-s", str(args.budget_window_s),
        ]))  # fmt: skip
        env = product_settings(storage.connection_string if storage else "", oa.first_line, graph.first_line)
        backend: Any = MemoryTables()
        if storage:
            backend = table_backend(load(StorageSettings, env))
        services = Services(env, EnvironmentSecrets(env), _store=SyncStore(backend))
        groups = {"openair_sim": oa.proc.pid, "graph_sim": graph.proc.pid}
        if storage:
            groups["azurite"] = storage.pid
        sims = (SimulatorControl(oa.first_line, timeout=120), GraphControl(graph.first_line))
        try:
            store = services.store()
            store.ensure_tables()
            store.put_setting("MaxDeletionsPerRun", 1_000_000)
            if args.overlap_minutes is not None:
                store.put_setting("WatermarkOverlapMinutes", args.overlap_minutes)
            await refresh_mappings(store, services.openair(), services.calendar())
            bench = Bench(services, backend, sims, limits, CpuMeter(groups), trace_memory=args.trace_memory,
                          planner_only=args.planner_only)  # fmt: skip
            results = [await bench.phase("initial")]
            if args.planner_only:
                return _annotated(results, args, users)
            bookings = sims[0].records("Booking")
            count = args.change_count or max(1, int(len(bookings) * args.change_fraction))
            for booking in random.Random(2).sample(bookings, count):
                sims[0].modify("Booking", booking["id"], {"hours": "5.50"})
            del bookings
            results.append({**await bench.phase("incremental"), "records_changed": count})
            # The simulator stamps each change at least a second after the previous one, so a burst of changes is
            # stamped up to a second per change ahead of the clock. Once the clock has passed those stamps, the idle
            # run re-reads them one last time (they are newer than the incremental run's watermark) and a second
            # idle run re-reads nothing: the planner's fixed cost.
            await asyncio.sleep(seconds_until_stamped(sims[0], env["OPENAIR_COMPANY_TIMEZONE"]))
            results.append(await bench.phase("idle"))
            results.append(await bench.phase("idle-settled"))
        finally:
            await services.aclose()
    return _annotated(results, args, users)


def _annotated(results: list[dict[str, Any]], args: argparse.Namespace, users: int) -> list[dict[str, Any]]:
    for result in results:
        result.update(users=users, records_per_user=args.records, tables=args.tables, workers=args.workers,
                      graph_latency_ms=args.latency_ms, openair_latency_ms=args.openair_latency_ms,
                      mailbox_concurrency=args.mailbox_concurrency, mailbox_budget=args.mailbox_budget)  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tenant_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--users", default="1000", help="a tenant size, or several: 100,1000 (memory comparison)")
    parser.add_argument("--records", type=int, default=100, help="bookings per user")
    parser.add_argument(
        "--tables",
        choices=("memory", "azurite"),
        default="memory",
        help="memory: the in-memory table twin (twins/tables.py, partition-indexed like Azure); azurite",
    )
    parser.add_argument("--latency-ms", type=float, default=50.0, help="Graph simulator, per request and item")
    parser.add_argument("--openair-latency-ms", type=float, default=50.0)
    parser.add_argument("--mailbox-concurrency", type=int, default=4)
    parser.add_argument("--mailbox-budget", type=int, default=10_000)
    parser.add_argument("--budget-window-s", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=24, help="mailboxes at once: instances × (16 + 8)")
    parser.add_argument("--change-fraction", type=float, default=0.01)
    parser.add_argument("--change-count", type=int, default=0, help="changed bookings (overrides the fraction)")
    parser.add_argument(
        "--overlap-minutes",
        type=int,
        default=None,
        help="WatermarkOverlapMinutes (default: the product's 10); 0 makes the idle run re-read nothing",
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="a memory run: tracemalloc peaks of the planner and one worker (slows them; not for timing)",
    )
    parser.add_argument(
        "--planner-only",
        action="store_true",
        help="the initial phase's planner alone (its CPU per booking read), no fan-out and no later phases",
    )
    args = parser.parse_args()
    for users in (int(n) for n in args.users.split(",")):
        for result in asyncio.run(scenario(args, users)):
            print(json.dumps({"benchmark": "tenant_scale", **result}), flush=True)


if __name__ == "__main__":
    main()
