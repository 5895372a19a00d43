"""Demo steps of the export: map users, first run, idle run, changes in OpenAir."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from sandbox.demo.world import DemoContext
from sandbox.graph.control import GraphControl
from sandbox.host.localhost import LocalHost

KIND_OF_KEY = {"booking": "bookings", "task_assignment": "task assignments", "schedule_request": "schedule requests"}


def say(text: str = "") -> None:
    print(text, flush=True)


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
    category = f", category {', '.join(event['categories'])}" if event.get("categories") else ""
    return f"    {event['subject']}\n      {when}, show as {event.get('showAs')}{category}"


def run_export(host: LocalHost) -> float:
    started = time.monotonic()
    host.fire_timer("export_timer")
    host.drain_queues(timeout=120)
    return time.monotonic() - started


def _mailboxes(ctx: DemoContext) -> dict[str, str]:
    return {user_id: m.mailbox_id for user_id, m in ctx.mapped.items()}


def step_first_export(ctx: DemoContext) -> None:
    say("\n2. First export run (timer → one queue message per mailbox → workers write through $batch)")
    # The administrator's category: people tell OpenAir work from their own events at a glance.
    ctx.store.put_setting("ExportCategory", "OpenAir")
    ctx.store.put_setting("ExportCategoryColor", "DarkGreen")
    say("  IntegrationSettings: ExportCategory = OpenAir (DarkGreen), added to each mailbox's category list")
    ctx.graph.reset_counters()
    seconds = run_export(ctx.host)
    events = mailbox_events(ctx.graph, _mailboxes(ctx))
    by_kind: Counter[str] = Counter()
    for user_events in events.values():
        by_kind.update(openair_key(e).split(":")[1] for e in user_events if openair_key(e))
    requests = ctx.graph.counters()["http_total"]
    total = sum(by_kind.values())
    say(f"  {total} events in {len(events)} mailboxes in {seconds:.1f} s "
        f"({requests} Graph requests: {requests / max(total, 1):.3f} per event)")  # fmt: skip
    for kind, count in sorted(by_kind.items()):
        say(f"    {count:4d} {KIND_OF_KEY.get(kind, kind)}")
    say("  Per user (first six):")
    for user_id in sorted(events)[:6]:
        kinds = Counter(openair_key(e).split(":")[1] for e in events[user_id] if openair_key(e))
        parts = ", ".join(f"{n} {KIND_OF_KEY[k]}" for k, n in sorted(kinds.items()))
        say(f"    {ctx.mapped[user_id].name or user_id} <{ctx.mapped[user_id].mailbox}>: {parts}")
    sample_user = sorted(events, key=lambda u: -len(events[u]))[0]
    say(f"  What {ctx.mapped[sample_user].name} sees in Outlook (three events):")
    for event in events[sample_user][:3]:
        say(show_event(event))
    ctx.result.update(
        events_created=total,
        events_by_kind=dict(sorted(by_kind.items())),
        first_run_seconds=round(seconds, 2),
        first_run_graph_requests=requests,
    )
    ctx.check(total > 0, "the first export created no event")
    ours = [e for user_events in events.values() for e in user_events if openair_key(e)]
    tagged = sum(1 for e in ours if "OpenAir" in (e.get("categories") or []))
    ctx.check(tagged == total, f"{total - tagged} exported events lack the OpenAir category")
    ctx.result.update(events_with_category=tagged)


def step_idle_run(ctx: DemoContext) -> None:
    say("\n3. An idle run: nothing changed in OpenAir")
    ctx.graph.reset_counters()
    before = ctx.openair.stats()["requests"]
    run_export(ctx.host)
    idle_graph = ctx.graph.counters()["http_total"]
    idle_openair = ctx.openair.stats()["requests"] - before
    say(f"  Graph requests: {idle_graph}; OpenAir requests: {idle_openair}")
    ctx.result.update(idle_run_graph_requests=idle_graph, idle_run_openair_requests=idle_openair)
    ctx.check(idle_graph == 0, "an idle run made Graph requests")


def step_changes(ctx: DemoContext) -> None:
    say("\n4. Changes in OpenAir: two bookings edited, one deleted")
    bookings = [b for b in ctx.openair.records("Booking") if b.get("userid") in ctx.mapped]
    edited, deleted = bookings[:2], bookings[2]
    for booking in edited:
        ctx.openair.modify("Booking", booking["id"], {"hours": "2.50", "notes": "Scope changed by the client."})
    ctx.openair.delete("Booking", deleted["id"])
    ctx.graph.reset_counters()
    run_export(ctx.host)
    after = mailbox_events(ctx.graph, _mailboxes(ctx))
    edited_keys = {f"openair:booking:{b['id']}" for b in edited}
    updated = [e["subject"] for u in after.values() for e in u if openair_key(e) in edited_keys]
    removed = not any(openair_key(e) == f"openair:booking:{deleted['id']}" for u in after.values() for e in u)
    for subject in updated:
        say(f"  updated: {subject}")
    say(f"  booking {deleted['id']} deleted in OpenAir → event removed: {removed}")
    runs = ctx.store.recent_runs(20)
    ctx.result.update(
        events_updated=len(updated),
        events_removed=int(removed),
        change_run_graph_requests=ctx.graph.counters()["http_total"],
        runs_recorded=len(runs),
        poison=sum(1 for r in runs if r.status == "poison"),
    )
    ctx.check(len(updated) == 2 and all("2.50 hrs" in s for s in updated), "edited bookings were not updated")
    ctx.check(removed, "a deleted booking's event was not removed")


# The mapping step (1.) is sandbox/demo/admin.py's: it goes through the admin endpoint, as an administrator would.
STEPS = [step_first_export, step_idle_run, step_changes]
