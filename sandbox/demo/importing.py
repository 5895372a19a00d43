"""Demo steps of the import: people create, edit, decline and delete events in Outlook (the Graph simulator);
Graph's notifications reach the local host over HTTP; bookings appear, change and go in the OpenAir simulator."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from sandbox.demo.export import run_export, say
from sandbox.demo.world import DemoContext

POLICY = "Delete bookings created from Outlook"


def _imported(ctx: DemoContext) -> dict[str, dict[str, Any]]:
    return {b["id"]: b for b in ctx.openair.records("Booking") if str(b.get("externalid") or "").startswith("m365:")}


def _wait(check: Callable[[], bool], timeout: float = 20.0) -> float | None:
    """Seconds until `check` held, or None if it never did."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            return None
        time.sleep(0.02)
    return time.monotonic() - started


def _when(day: dt.date, hour: int) -> dict[str, str]:
    return {"dateTime": f"{day.isoformat()}T{hour:02d}:00:00", "timeZone": "UTC"}


def step_switch_on_import(ctx: DemoContext) -> None:
    say("\n6. Import switched on for two users; the subscription timer subscribes to their mailboxes")
    # Graph posts to the function host's public URL, with WEBHOOK_FUNCTION_KEY (the graph-webhook key) as ?code=.
    os.environ["WEBHOOK_BASE_URL"] = ctx.host.base_url
    users = sorted(ctx.mapped)[:2]
    types = {t["name"]: t["id"] for t in ctx.openair.records("BookingType")}
    project = next(p["id"] for p in ctx.openair.records("Project"))
    for name, value in (("ImportEnabled", True), ("OnOutlookDeletion", POLICY),
                        ("DefaultBookingTypeId", types.get("Outlook appointment") or next(iter(types.values()))),
                        ("DefaultProjectId", project)):  # fmt: skip
        ctx.store.put_setting(name, value)
    for user_id in users:
        ctx.store.write_mapping_status(user_id, Import=True)
    ctx.host.fire_timer("import_subscriptions")
    ctx.host.drain_queues(timeout=60)
    subs = ctx.graph.subscriptions()
    say(f"  {len(subs)} subscriptions (Graph validated {len(ctx.graph.validations())} endpoint handshakes)")
    ctx.result["import_subscriptions"] = len(subs)
    ctx.result["import_users"] = users
    ctx.check(len(subs) == len(users), "not every importing mailbox got a subscription")


def step_outlook_changes(ctx: DemoContext) -> None:
    say("\n7. People work in Outlook; notifications → queue → calendarView/delta → OpenAir bookings")
    first, second = ctx.result["import_users"]
    mbx_a, mbx_b = ctx.mapped[first].mailbox_id, ctx.mapped[second].mailbox_id
    day = dt.date.today() + dt.timedelta(days=9)
    latencies: list[float] = []

    def create(mailbox: str, body: dict[str, Any], count: int = 1) -> dict[str, Any]:
        before = len(_imported(ctx))
        started = time.monotonic()
        event = ctx.graph.create_event(mailbox, body)
        took = _wait(lambda: len(_imported(ctx)) >= before + count)
        if took is not None:
            latencies.append(time.monotonic() - started)
        return event

    workshop = create(mbx_a, {"subject": "Client workshop", "showAs": "busy", "start": _when(day, 13),
                              "end": _when(day, 15)})  # fmt: skip
    onsite = create(mbx_a, {"subject": "Onsite at Northwind", "showAs": "busy", "isAllDay": True,
                            "start": _when(day + dt.timedelta(days=1), 0),
                            "end": _when(day + dt.timedelta(days=3), 0)})  # fmt: skip
    ctx.graph.create_event(mbx_a, {"subject": "Lunch", "showAs": "free", "start": _when(day, 12),
                                   "end": _when(day, 13)})  # fmt: skip
    invite = create(mbx_b, {"subject": "Quarterly review", "showAs": "tentative", "start": _when(day, 9),
                            "end": _when(day, 10)})  # fmt: skip
    create(
        mbx_b,
        {
            "subject": "Stand-up",
            "showAs": "busy",
            "start": _when(day, 8),
            "end": _when(day, 8) | {"dateTime": f"{day.isoformat()}T08:30:00"},
            "recurrence": {
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "numbered", "startDate": day.isoformat(), "numberOfOccurrences": 3},
            },
        },
        count=3,
    )
    created = dict(_imported(ctx))
    for booking in created.values():
        amount = f"{booking.get('hours')} h" if booking.get("hours") else f"{booking.get('percentage')} %"
        say(f"  booking {booking['id']} for user {booking['userid']}: {booking['startdate'][:10]} {amount} "
            f"— {booking.get('notes')}")  # fmt: skip
    say("  (the free 'Lunch' event was skipped: SkipFreeEvents)")

    ctx.graph.update_event(mbx_a, workshop["id"], {"end": _when(day, 17)})
    grown = _wait(lambda: any(str(b.get("hours", "")).startswith("4") for b in _imported(ctx).values()))
    say(f"  workshop extended to 4 h in Outlook → booking updated: {grown is not None}")
    ctx.graph.decline(mbx_b, invite["id"])
    ctx.graph.delete_event(mbx_a, onsite["id"])
    gone = _wait(lambda: len(_imported(ctx)) == len(created) - 2)
    say(f"  invitation declined and all-day event deleted → bookings removed ({POLICY}): {gone is not None}")

    ctx.graph.reset_counters()
    run_export(ctx.host)
    overwritten = [e for e in ctx.graph.events(mbx_a) if e["subject"].startswith("OA Booking") and
                   not any(p for p in e.get("singleValueExtendedProperties") or [])]  # fmt: skip
    say(f"  export run afterwards: {ctx.graph.counters()['http_total']} Graph requests; imported bookings are not "
        f"exported back over the person's events: {not overwritten}")  # fmt: skip
    runs = [r for r in ctx.store.recent_runs(200) if r.kind == "import-mailbox"]
    worker_ms = [r.counts["latency_ms"] for r in runs if "latency_ms" in r.counts]
    ctx.result.update(
        import_bookings_created=len(created),
        import_bookings_updated=int(grown is not None),
        import_bookings_deleted=len(created) - len(_imported(ctx)),
        import_passes=len(runs),
        import_latency_ms_p50=round(statistics.median(latencies) * 1000) if latencies else None,
        import_latency_ms_max=round(max(latencies) * 1000) if latencies else None,
        import_notification_to_booking_ms_p50=round(statistics.median(worker_ms)) if worker_ms else None,
    )
    say(
        f"  Outlook change → booking visible in OpenAir: p50 {ctx.result['import_latency_ms_p50']} ms, "
        f"max {ctx.result['import_latency_ms_max']} ms; notification received → booking written: "
        f"p50 {ctx.result['import_notification_to_booking_ms_p50']} ms over {len(runs)} import passes"
    )
    ctx.check(len(created) == 6, f"expected 6 imported bookings (1 timed, 1 all-day, 1 invitation, 3 occurrences), "
              f"got {len(created)}")  # fmt: skip
    ctx.check(grown is not None, "an Outlook edit did not update its booking")
    ctx.check(gone is not None, "a decline and a delete did not remove their bookings")
    ctx.check(not overwritten, "the export wrote over a person's own event")


STEPS = [step_switch_on_import, step_outlook_changes]
