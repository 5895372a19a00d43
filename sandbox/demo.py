"""`make demo`: the product's main job, offline, end to end.

Starts Azurite, the OpenAir and Graph simulators (serving the same sample company) and the local function host
loaded from `function_app.py`; maps users by email; runs the export; shows what consultants now see in Outlook;
edits and deletes a few records "in OpenAir" and runs again. Ends with one JSON line and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sandbox.azurite import azurite
from sandbox.graph.control import GraphControl
from sandbox.host.localhost import LocalHost
from sandbox.openair.control import SimulatorControl
from sandbox.processes import run_printing_url
from sandbox.sample import CREDENTIALS
from shared.admin.mappings import refresh_mappings
from shared.runtime import Services
from shared.secrets import EnvironmentSecrets

KIND_OF_KEY = {"booking": "bookings", "task_assignment": "task assignments", "schedule_request": "schedule requests"}


def say(text: str = "") -> None:
    print(text, flush=True)


@contextlib.contextmanager
def offline_world() -> Iterator[dict[str, str]]:
    """Azurite + both simulators; yields the app settings that point the product at them."""
    python = sys.executable
    with (
        azurite() as storage,
        run_printing_url([python, "-m", "sandbox.openair", "--port", "0"]) as openair,
        run_printing_url([python, "-m", "sandbox.graph", "--port", "0"]) as graph,
    ):
        yield {
            "AzureWebJobsStorage": storage.connection_string,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "EXPORT_SCHEDULE": "0 */2 * * * *",
            "OPENAIR_BASE_URL": openair.first_line,
            "OPENAIR_COMPANY": CREDENTIALS["company"],
            "OPENAIR_USER": CREDENTIALS["user"],
            "OPENAIR_PASSWORD": CREDENTIALS["password"],
            "OPENAIR_API_KEY": CREDENTIALS["api_key"],
            "OPENAIR_COMPANY_TIMEZONE": "America/New_York",
            "GRAPH_BASE_URL": graph.first_line,
            "GRAPH_TENANT_ID": "demo-tenant",
            "GRAPH_CLIENT_ID": "demo-client",
        }


def mailbox_events(graph: GraphControl, mailbox_ids: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    return {user: graph.events(mailbox) for user, mailbox in mailbox_ids.items()}


def openair_key(event: dict[str, Any]) -> str:
    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).endswith("Name OpenAirKey"):
            return str(prop.get("value", ""))
    return ""


def show_event(event: dict[str, Any]) -> str:
    start, end = event["start"], event["end"]
    when = (
        f"all day {start['dateTime'][:10]} → {end['dateTime'][:10]} (end exclusive)"
        if event.get("isAllDay")
        else f"{start['dateTime'][:16]} → {end['dateTime'][11:16]} {start['timeZone']}"
    )
    return f"    {event['subject']}\n      {when}, show as {event.get('showAs')}"


def run_export(host: LocalHost) -> float:
    started = time.monotonic()
    host.fire_timer("export_timer")
    host.drain_queues(timeout=120)
    return time.monotonic() - started


async def map_users(env: dict[str, str]) -> dict[str, int]:
    services = Services(env, EnvironmentSecrets(env))
    try:
        store = services.store()
        store.ensure_tables()
        report = await refresh_mappings(store, services.openair(), services.calendar())
    finally:
        await services.aclose()
    say(f"  mapped {len(report.new)} users ({sum('(Alias)' in n for n in report.new)} by mailbox alias); "
        f"{len(report.unmatched)} unmatched, {len(report.conflicts)} conflicts")  # fmt: skip
    for line in report.unmatched:
        say(f"    unmatched: {line}")
    return report.counts()


def main() -> int:
    say("Starting the offline world: Azurite, OpenAir simulator, Graph simulator, local function host …")
    with offline_world() as env:
        os.environ.update(env)  # the function app reads its settings from the environment, as in Azure
        with LocalHost("function_app:app", env, timers=False) as host:
            openair = SimulatorControl(env["OPENAIR_BASE_URL"])
            graph = GraphControl(env["GRAPH_BASE_URL"])
            say(f"  function host {host.base_url}: {', '.join(sorted(f.name for f in host.functions))}")

            say("\n1. Mapping OpenAir users to mailboxes by email (and aliases)")
            mapping_counts = asyncio.run(map_users(env))

            store = Services(env, EnvironmentSecrets(env)).store()
            mapped = store.load_mappings().users
            mailbox_ids = {user_id: m.mailbox_id for user_id, m in mapped.items()}

            say("\n2. First export run (timer → one queue message per mailbox → workers write through $batch)")
            graph.reset_counters()
            seconds = run_export(host)
            events = mailbox_events(graph, mailbox_ids)
            by_kind: Counter[str] = Counter()
            for user_events in events.values():
                by_kind.update(openair_key(e).split(":")[1] for e in user_events if openair_key(e))
            first_counters = graph.counters()
            total = sum(by_kind.values())
            say(f"  {total} events in {len(events)} mailboxes in {seconds:.1f} s "
                f"({first_counters['http_total']} Graph requests: {first_counters['http_total'] / max(total, 1):.3f}"
                " per event)")  # fmt: skip
            for kind, count in sorted(by_kind.items()):
                say(f"    {count:4d} {KIND_OF_KEY.get(kind, kind)}")
            say("  Per user (first six):")
            for user_id in sorted(events)[:6]:
                kinds = Counter(openair_key(e).split(":")[1] for e in events[user_id] if openair_key(e))
                parts = ", ".join(f"{n} {KIND_OF_KEY[k]}" for k, n in sorted(kinds.items()))
                say(f"    {mapped[user_id].name or user_id} <{mapped[user_id].mailbox}>: {parts}")
            sample_user = sorted(events, key=lambda u: -len(events[u]))[0]
            say(f"  What {mapped[sample_user].name} sees in Outlook (three events):")
            for event in events[sample_user][:3]:
                say(show_event(event))

            say("\n3. An idle run: nothing changed in OpenAir")
            graph.reset_counters()
            before = openair.stats()
            run_export(host)
            idle_graph = graph.counters()["http_total"]
            idle_openair = openair.stats()["requests"] - before["requests"]
            say(f"  Graph requests: {idle_graph}; OpenAir requests: {idle_openair}")

            say("\n4. Changes in OpenAir: two bookings edited, one deleted")
            bookings = [b for b in openair.records("Booking") if b.get("userid") in mapped]
            edited, deleted = bookings[:2], bookings[2]
            for booking in edited:
                openair.modify("Booking", booking["id"], {"hours": "2.50", "notes": "Scope changed by the client."})
            openair.delete("Booking", deleted["id"])
            graph.reset_counters()
            run_export(host)
            after = mailbox_events(graph, mailbox_ids)
            updated_subjects = [
                e["subject"] for u in after.values() for e in u
                if openair_key(e) in {f"openair:booking:{b['id']}" for b in edited}
            ]  # fmt: skip
            removed = not any(openair_key(e) == f"openair:booking:{deleted['id']}" for u in after.values() for e in u)
            for subject in updated_subjects:
                say(f"  updated: {subject}")
            say(f"  booking {deleted['id']} deleted in OpenAir → event removed: {removed}")
            change_counters = graph.counters()

            runs = store.recent_runs(10)
            result = {
                "demo": "export",
                "users_mapped": len(mapped),
                "mapping": mapping_counts,
                "events_created": total,
                "events_by_kind": dict(sorted(by_kind.items())),
                "first_run_seconds": round(seconds, 2),
                "first_run_graph_requests": first_counters["http_total"],
                "idle_run_graph_requests": idle_graph,
                "idle_run_openair_requests": idle_openair,
                "events_updated": len(updated_subjects),
                "events_removed": int(removed),
                "change_run_graph_requests": change_counters["http_total"],
                "runs_recorded": len(runs),
                "poison": sum(1 for r in runs if r.status == "poison"),
            }
    ok = total > 0 and removed and len(updated_subjects) == 2 and idle_graph == 0
    say()
    say(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
