"""Demo step of the push export: a booking saved "in OpenAir" reaches the Graph simulator within seconds.

The OpenAir simulator's "After save" form script hook plays `form_script/after_save.js`: it is pointed at the local
host's `/api/openair/changed` at run time (the host's URL is known only once it has started).
"""

from __future__ import annotations

import time

from sandbox.demo.export import openair_key, say, show_event
from sandbox.demo.world import PUSH_SECRET, DemoContext

TIMEOUT_SECONDS = 30.0


def step_push(ctx: DemoContext) -> None:
    say("\n5. Push: a booking saved in OpenAir, announced by the form script, exported at once (no timer run)")
    url, key = f"{ctx.host.base_url}/api/openair/changed", ctx.env["OPENAIR_PUSH_KEY"]
    state = ctx.openair.form_script(url, PUSH_SECRET, key)
    user_id = sorted(ctx.mapped)[0]
    mailbox = ctx.mapped[user_id].mailbox_id
    template = next(b for b in ctx.openair.records("Booking") if b.get("userid") == user_id)
    fields = {k: template[k] for k in ("projectid", "customerid", "booking_typeid", "userid", "approval_status")}
    started = time.monotonic()
    booking = ctx.openair.create("Booking", {**fields, "startdate": template["startdate"],
                                             "enddate": template["startdate"], "hours": "3.00", "percentage": "40",
                                             "notes": "Workshop added from the OpenAir form."})  # fmt: skip
    saved = time.monotonic() - started
    key = f"openair:booking:{booking['id']}"
    found = []
    while time.monotonic() - started < TIMEOUT_SECONDS:
        found = [e for e in ctx.graph.events(mailbox) if openair_key(e) == key]
        if found:
            break
        time.sleep(0.02)
    latency = time.monotonic() - started
    posted = ctx.openair.form_script_state()
    say(f"  form script → {state['url']} (posted {posted['posted']}, failed {posted['failed']})")
    say(f"  booking {booking['id']} saved in {saved * 1000:.0f} ms (the user's wait, form script included)")
    if found:
        say(f"  in {ctx.mapped[user_id].name}'s calendar {latency:.2f} s after the save:")
        say(show_event(found[0]))
    ctx.result.update(push_save_to_event_seconds=round(latency, 3), push_save_ms=round(saved * 1000))
    ctx.check(len(found) == 1, f"the pushed booking {booking['id']} did not reach Outlook within {TIMEOUT_SECONDS} s")


STEPS = [step_push]
