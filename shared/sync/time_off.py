"""Approved time off sets the person's Outlook automatic replies (`AutoRepliesForTimeOff`, off by default).

A mailbox has one automatic-replies setting, so the product schedules the replies of the person's next approved
time off (a schedule request whose event shows as out of office), from its first day to the end of its last, with
the administrator's templates. It never overwrites replies the person set themselves: replies are the product's
only while they are exactly the window it last set (remembered in Cursors, partition `AutoReplies`), or switched
off, or a schedule that has already ended. When that time off is rejected or deleted, the product's replies are
switched off; when it has passed, the next one is scheduled (the export timer sends the user's worker a message).

Needs MailboxSettings.ReadWrite (https://learn.microsoft.com/graph/api/user-update-mailboxsettings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.links import Link
from shared.domain.mappings import UserMapping
from shared.domain.settings import IntegrationSettings
from shared.graph.errors import GraphError
from shared.graph.models import AutomaticReplies
from shared.kinds import RecordKind
from shared.ports.mailboxes import CalendarPort
from shared.store.offload import off_loop
from shared.store.store import REPLIES_SCOPE, SyncStore


@dataclass(frozen=True)
class TimeOff:
    key: str
    first_day: dt.date
    last_day: dt.date
    start: dt.datetime  # aware
    end: dt.datetime  # aware, exclusive


def next_time_off(links: Mapping[str, Link], now: dt.datetime) -> TimeOff | None:
    """The approved time off (exported as out of office) that has not ended yet and starts first."""
    found: list[TimeOff] = []
    for link in links.values():
        fields = link.fields
        if link.kind is not RecordKind.SCHEDULE_REQUEST or fields.get("show_as") != "oof":
            continue
        try:
            zone = ZoneInfo(str(fields["time_zone"]))
            start = dt.datetime.fromisoformat(str(fields["start"])).replace(tzinfo=zone)
            end = dt.datetime.fromisoformat(str(fields["end"])).replace(tzinfo=zone)
        except (KeyError, ValueError):
            continue
        if end <= now:
            continue
        last_day = (end - dt.timedelta(microseconds=1)).date() if end > start else start.date()
        found.append(TimeOff(link.key, start.date(), last_day, start, end))
    return min(found, key=lambda t: (t.start, t.key), default=None)


def replies_for(off: TimeOff, settings: IntegrationSettings, name: str) -> AutomaticReplies:
    values = {"name": name, "first_day": off.first_day.isoformat(), "last_day": off.last_day.isoformat(),
              "return_day": (off.last_day + dt.timedelta(days=1)).isoformat()}  # fmt: skip
    return AutomaticReplies(
        status="scheduled",
        start=off.start.astimezone(dt.UTC),
        end=off.end.astimezone(dt.UTC),
        internal_message=settings.auto_reply_internal_message.format(**values),
        external_message=settings.auto_reply_external_message.format(**values),
    )


def _span(replies: AutomaticReplies) -> str:
    start = replies.start.astimezone(dt.UTC).isoformat() if replies.start else ""
    end = replies.end.astimezone(dt.UTC).isoformat() if replies.end else ""
    return f"{start}|{end}"


def due_users(store: SyncStore, now: dt.datetime) -> set[str]:
    """Users whose product-set replies have ended: their next time off (if any) is to be scheduled."""
    return replies_ended(store.cursors(REPLIES_SCOPE), now)


def replies_ended(replies: Mapping[str, Any], now: dt.datetime) -> set[str]:
    """The users among `replies` (the AutoReplies cursors: user -> "start|end") whose replies have ended."""
    due = set()
    for user_id, value in replies.items():
        _, _, end = str(value).partition("|")
        try:
            if dt.datetime.fromisoformat(end) <= now:
                due.add(user_id)
        except ValueError:
            due.add(user_id)
    return due


async def update_automatic_replies(
    user_id: str, mailbox_id: str, name: str, *, store: SyncStore, calendar: CalendarPort,
    settings: IntegrationSettings, now: dt.datetime,
) -> str | None:  # fmt: skip
    """Make the mailbox's automatic replies follow the next approved time off. Returns a note for the
    administrator when something was left alone or failed (None when all is as it should be)."""
    links = await off_loop(store.links, user_id)
    wanted = next_time_off(links, now)
    recorded = (await off_loop(store.cursors, REPLIES_SCOPE)).get(user_id)
    try:
        current = await calendar.automatic_replies(mailbox_id)
        ours = recorded is not None and current.status == "scheduled" and _span(current) == recorded
        if current.active_at(now) and not ours:
            if wanted is None:
                return None
            return (f"automatic replies for time off {wanted.first_day}–{wanted.last_day} not set: the person's own "
                    "automatic replies are on")  # fmt: skip
        if wanted is None:
            if ours:
                await calendar.set_automatic_replies(mailbox_id, AutomaticReplies(status="disabled"))
            if recorded is not None:
                await off_loop(store.delete_cursor, REPLIES_SCOPE, user_id)
            return None
        target = replies_for(wanted, settings, name)
        if ours and recorded == _span(target) and current.internal_message == target.internal_message:
            return None
        await calendar.set_automatic_replies(mailbox_id, target)
    except GraphError as exc:
        return (f"automatic replies could not be set ({exc}); grant the app MailboxSettings.ReadWrite or switch "
                "AutoRepliesForTimeOff off")  # fmt: skip
    await off_loop(store.put_cursors, REPLIES_SCOPE, {user_id: _span(target)})
    return None


async def after_export(
    user_id: str, mapping: UserMapping | None, *, store: SyncStore, calendar: CalendarPort, now: dt.datetime,
    settings: IntegrationSettings,
) -> str | None:  # fmt: skip
    """The worker's hook: after a run that touched the user's time off, or when their replies have ended."""
    if mapping is None or not mapping.mailbox_id:
        return None
    if not settings.auto_replies_for_time_off:
        return None
    return await update_automatic_replies(user_id, mapping.mailbox_id, mapping.name or user_id, store=store,
                                          calendar=calendar, settings=settings, now=now)  # fmt: skip


async def when_due(user_id: str, *, store: SyncStore, calendar: CalendarPort, now: dt.datetime) -> None:
    """A worker message with nothing in the outbox: the timer may have sent it because the replies have ended."""
    if user_id not in await off_loop(due_users, store, now):
        return
    from shared.sync.mailbox import load_mapping

    mapping = await off_loop(load_mapping, store, user_id)
    settings, _ = await off_loop(store.load_settings)
    note = await after_export(user_id, mapping, store=store, calendar=calendar, now=now, settings=settings)
    if note:
        await off_loop(store.write_mapping_status, user_id, LastError=note, LastErrorAt=now)
