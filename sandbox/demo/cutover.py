"""Demo steps of the cutover from the Exchange Integration Manager: the sample mailboxes hold its events
(sandbox/sample/incumbent.py). The administrator says so in IntegrationSettings, reviews a dry run over HTTP, and
the first export adopts the incumbent's events instead of writing second copies; stale ones are removed on a
separate, confirmed call."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from sandbox.demo.export import openair_key, say
from sandbox.demo.world import DemoContext


def _cutover(ctx: DemoContext, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{ctx.host.base_url}/api/manage/cutover", json=body,
                      headers={"x-functions-key": ctx.host.keys.function}, timeout=300)  # fmt: skip


def _mailboxes(ctx: DemoContext) -> list[str]:
    return sorted(m.mailbox_id for m in ctx.mapped.values())


def step_cutover_dry_run(ctx: DemoContext) -> None:
    say("\n1b. Cutover from the Exchange Integration Manager: its events are already in the mailboxes")
    before = {m: {e["id"]: e["changeKey"] for e in ctx.graph.events(m)} for m in _mailboxes(ctx)}
    ctx.result["_before_cutover"] = before
    say(f"  {sum(len(v) for v in before.values())} events in {len(before)} mailboxes before our first run")
    # What an administrator sets in Storage Explorer: the first export adopts instead of duplicating.
    ctx.store.put_setting("IncumbentEventsInMailboxes", True)
    ctx.graph.reset_counters()
    answer = _cutover(ctx, {"all": True})  # dry_run is the default
    ctx.check(answer.status_code == 200, f"cutover dry run answered {answer.status_code}: {answer.text[:300]}")
    if answer.status_code != 200:
        return
    body = answer.json()
    counts = body["counts"]
    requests = ctx.graph.counters()["http_total"]
    say("  POST /api/manage/cutover {\"all\": true} (dry run): " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                                        for k, v in counts.items()))  # fmt: skip
    say(f"  {requests} Graph requests for {counts['users']} mailboxes (one calendarView read each), nothing written")
    for line in body["ambiguous"][:4]:
        say(f"    ambiguous, left alone: {line[:150]}")
    for line in body["stale"][:2]:
        say(f"    stale: {line[:150]}")
    refused = _cutover(ctx, {"all": True, "dry_run": False})
    say(f"  a real run without confirm: {refused.status_code} ({refused.json().get('error', '')[:80]}…)")
    ctx.result["cutover_dry_run"] = counts
    ctx.result["cutover_dry_run_graph_requests"] = requests
    ctx.check(refused.status_code == 400, "a real cutover ran without confirmation")
    ctx.check(counts["adopted"] > 0, "the dry run found no incumbent event to adopt")
    ctx.check(requests == counts["users"], "the dry run made more than one Graph request per mailbox")


def step_cutover_outcome(ctx: DemoContext) -> None:
    say("\n2b. After the first export: the incumbent's events were adopted in place, nothing duplicated")
    before: dict[str, dict[str, str]] = ctx.result.pop("_before_cutover", {})
    planned = ctx.result.get("cutover_dry_run", {})
    after = {m: ctx.graph.events(m) for m in _mailboxes(ctx)}
    keys = Counter(openair_key(e) for events in after.values() for e in events if openair_key(e))
    adopted = sum(1 for m, events in after.items() for e in events if openair_key(e) and e["id"] in before.get(m, {}))
    untouched = [(m, e) for m, events in after.items() for e in events if not openair_key(e)]
    changed = [e["subject"] for m, e in untouched if before.get(m, {}).get(e["id"]) != e["changeKey"]]
    duplicates = sum(n - 1 for n in keys.values())
    say(f"  {adopted} incumbent events adopted (same event, now tagged and in our rendering), "
        f"{sum(keys.values()) - adopted} created, {duplicates} duplicates")  # fmt: skip
    say(
        f"  {len(untouched)} events left exactly as they were (ambiguous, stale, people's own); changed: {len(changed)}"
    )
    runs = [r for r in ctx.store.recent_runs(200) if r.kind == "cutover-first-export"]
    ctx.check(adopted == planned.get("adopted"), f"adopted {adopted}, the dry run said {planned.get('adopted')}")
    ctx.check(duplicates == 0, f"{duplicates} records have two events")
    ctx.check(not changed, f"events not ours were changed: {changed[:3]}")
    ctx.check(len(runs) == planned.get("users"), "not every mailbox recorded its cutover")

    ctx.graph.reset_counters()
    removal = _cutover(ctx, {"all": True, "action": "remove-stale", "dry_run": False, "confirm": True})
    ctx.check(removal.status_code == 202, f"remove-stale answered {removal.status_code}: {removal.text[:300]}")
    removed = removal.json()["counts"].get("stale_removed", 0) if removal.status_code == 202 else 0
    say(f"  remove-stale (confirmed): {removed} stale events removed "
        f"({ctx.graph.counters()['http_total']} Graph requests)")  # fmt: skip
    ctx.check(
        removed == planned.get("stale"), f"removed {removed} stale events, the dry run found {planned.get('stale')}"
    )
    ctx.result.update(cutover_adopted=adopted, cutover_duplicates=duplicates, cutover_untouched=len(untouched),
                      cutover_stale_removed=removed)  # fmt: skip
