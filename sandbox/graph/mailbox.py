"""What happens inside one mailbox's calendar: create, read, update, delete, list, calendarView, instances.

Every change bumps the changeKey and lastModifiedDateTime and is announced to the store's listeners (the
subscription notifier), whoever made it: an API client or the control API acting as the user in Outlook.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sandbox.graph import events, recurrence, timezones
from sandbox.graph.errors import (
    MAILBOX_STATES,
    UNLICENSED_CODES,
    GraphError,
    invalid_user,
    item_not_found,
    mailbox_unavailable,
)
from sandbox.graph.store import (
    Change,
    Store,
    StoredEvent,
    looks_like_event_id,
    new_change_key,
    occurrence_id,
    split_occurrence_id,
)


def user_or_404(store: Store, key: str) -> dict[str, Any]:
    user = store.user(key)
    if user is None:
        raise invalid_user(key)
    return user


def set_state(store: Store, user_key: str, state: str, code: str | None = None) -> dict[str, str]:
    """Take a whole mailbox away (`unlicensed`, `deleted`) or give it back (`active`), events kept."""
    if state not in MAILBOX_STATES:
        raise ValueError(f"mailbox state must be one of {MAILBOX_STATES}")
    if state == "unlicensed" and code is not None and code not in UNLICENSED_CODES:
        raise ValueError(f"an unlicensed mailbox answers one of {UNLICENSED_CODES}")
    with store.lock:
        user = user_or_404(store, user_key)
        if state == "active":
            store.mailbox_states.pop(user["id"], None)
        else:
            store.mailbox_states[user["id"]] = (state, code or UNLICENSED_CODES[0])
    return {"id": user["id"], "state": state}


def check_available(store: Store, user_key: str) -> None:
    """Raise the mailbox-level 404 of a mailbox that was taken away (every Outlook request, batch items too)."""
    with store.lock:
        user = store.user(user_key)
        taken = store.mailbox_states.get(user["id"]) if user else None
    if taken is not None:
        raise mailbox_unavailable(taken[0], taken[1], user_key)


def is_deleted_user(store: Store, user_key: str) -> bool:
    """A deleted user is gone from the directory too (until restored)."""
    with store.lock:
        user = store.user(user_key)
        return user is not None and store.mailbox_states.get(user["id"], ("active", ""))[0] == "deleted"


def _touch(store: Store, event: StoredEvent) -> None:
    event.change_key = new_change_key()
    event.modified = store.now()


def create(
    store: Store, user_key: str, body: dict[str, Any], *, as_user: bool = False, duplicate_status: int = 400
) -> StoredEvent:
    """Create an event. A `transactionId` the mailbox has seen before is refused, even when the event it created
    was deleted since: the id stays used (`duplicate_status`, 400 or 409, ErrorDuplicateTransactionId)."""
    with store.lock:
        user = user_or_404(store, user_key)
        txid = body.get("transactionId")
        if isinstance(txid, str) and txid and txid in store.transactions.setdefault(user["id"], {}):
            raise GraphError(
                duplicate_status,
                "ErrorDuplicateTransactionId",
                "The TransactionId specified in the request has already been used to create a different event.",
            )
        event = events.new_event(store, user, body, as_user=as_user)
        store.mailbox(user["id"])[event.id] = event
        if isinstance(txid, str) and txid:
            store.transactions[user["id"]][txid] = event.id
    store.changed(Change(user["id"], event.id, "created", event.change_key))
    return event


def _occurrence(master: StoredEvent, slot: recurrence.Slot) -> StoredEvent:
    """A computed occurrence: the master's properties at the slot's times."""
    return dataclasses.replace(
        master.clone(),
        id=occurrence_id(master.id, slot.original_start),
        type="occurrence",
        series_master_id=master.id,
        original_start=slot.original_start,
        start_local=slot.start_local,
        start_zone=master.start_zone,
        end_local=slot.end_local,
        end_zone=master.start_zone,
        exceptions={},
        cancelled=set(),
        ical_uid=master.ical_uid,
    )


def _slot_for(master: StoredEvent, original_start: dt.datetime) -> recurrence.Slot | None:
    for slot in _master_slots(master, original_start + dt.timedelta(days=1)):
        if slot.original_start == original_start:
            return slot
    return None


def _master_slots(master: StoredEvent, until: dt.datetime) -> list[recurrence.Slot]:
    end_utc = events.utc_end(master)
    end_in_start_zone = end_utc.astimezone(timezones.zone(master.start_zone)).replace(tzinfo=None)
    return list(
        recurrence.slots(master.start_local, end_in_start_zone, master.start_zone, master.props["recurrence"], until)
    )


def instances_of(master: StoredEvent, start: dt.datetime, end: dt.datetime) -> list[StoredEvent]:
    """Occurrences and exceptions of a series overlapping [start, end), cancelled ones left out."""
    found: list[StoredEvent] = []
    for slot in _master_slots(master, end):
        if slot.original_start in master.cancelled or slot.original_start in master.exceptions:
            continue
        occurrence = _occurrence(master, slot)
        if _overlaps(occurrence, start, end):
            found.append(occurrence)
    found.extend(e for e in master.exceptions.values() if _overlaps(e, start, end))
    return found


def _overlaps(event: StoredEvent, start: dt.datetime, end: dt.datetime) -> bool:
    s, e = events.utc_start(event), events.utc_end(event)
    if s == e:
        return start <= s < end
    return s < end and e > start


def resolve(store: Store, user_key: str, event_id: str) -> tuple[StoredEvent, StoredEvent | None]:
    """(event, its series master or None) for any id Graph hands out, occurrences included."""
    with store.lock:
        user = user_or_404(store, user_key)
        box = store.mailbox(user["id"])
        if event_id in box:
            return box[event_id], None
        split = split_occurrence_id(event_id)
        if split is None:
            if not looks_like_event_id(event_id):
                raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
            raise item_not_found()
        master = box.get(split[0])
        if master is None or master.type != "seriesMaster" or split[1] in master.cancelled:
            raise item_not_found()
        if split[1] in master.exceptions:
            return master.exceptions[split[1]], master
        slot = _slot_for(master, split[1])
        if slot is None:
            raise item_not_found()
        return _occurrence(master, slot), master


def update(store: Store, user_key: str, event_id: str, body: dict[str, Any], *, as_user: bool = False) -> StoredEvent:
    """PATCH semantics: only the given properties change; an occurrence PATCHed becomes an exception."""
    with store.lock:
        event, master = resolve(store, user_key, event_id)
        changed = event.clone()
        events.apply_body(changed, body, as_user=as_user)
        if master is not None and "recurrence" in body:
            raise GraphError(400, "ErrorInvalidRequest", "An occurrence or exception cannot have a recurrence.")
        events.check_times(changed)
        _touch(store, changed)
        if master is None:
            times_moved = (changed.start_local, changed.start_zone, changed.end_local) != (
                event.start_local,
                event.start_zone,
                event.end_local,
            )
            if changed.props.get("recurrence"):
                changed.type = "seriesMaster"
                if times_moved or changed.props["recurrence"] != event.props.get("recurrence"):
                    # Outlook drops a series' exceptions when its pattern or times change.
                    changed.exceptions, changed.cancelled = {}, set()
            elif event.type == "seriesMaster":
                changed.type, changed.exceptions, changed.cancelled = "singleInstance", {}, set()
            store.mailbox(changed.mailbox)[changed.id] = changed
        else:
            changed.type = "exception"
            assert changed.original_start is not None
            master.exceptions[changed.original_start] = changed
            _touch(store, master)
    store.changed(Change(changed.mailbox, changed.id, "updated", changed.change_key))
    if master is not None:
        store.changed(Change(master.mailbox, master.id, "updated", master.change_key))
    return changed


def delete(store: Store, user_key: str, event_id: str, *, touch_series: bool = True) -> None:
    """Delete an event; deleting an occurrence cancels just that occurrence of its series (and, unless
    `touch_series` is off, gives the series a new change key, which its other occurrences show)."""
    with store.lock:
        event, master = resolve(store, user_key, event_id)
        if master is None:
            del store.mailbox(event.mailbox)[event.id]
        else:
            assert event.original_start is not None
            master.exceptions.pop(event.original_start, None)
            master.cancelled.add(event.original_start)
            if touch_series:
                _touch(store, master)
    store.changed(Change(event.mailbox, event.id, "deleted", event.change_key))
    if master is not None and touch_series:
        store.changed(Change(master.mailbox, master.id, "updated", master.change_key))


def list_events(store: Store, user_key: str) -> list[StoredEvent]:
    """`/events`: single instances and series masters (not occurrences), newest first like Outlook's default."""
    with store.lock:
        user = user_or_404(store, user_key)
        found = [e.clone() for e in store.mailbox(user["id"]).values()]
    return sorted(found, key=lambda e: e.created, reverse=True)


def calendar_view(store: Store, user_key: str, start: dt.datetime, end: dt.datetime) -> list[StoredEvent]:
    """`/calendarView`: everything overlapping the window, series expanded into occurrences and exceptions."""
    if end <= start:
        raise GraphError(400, "ErrorInvalidParameter", "The value of 'endDateTime' must be after 'startDateTime'.")
    with store.lock:
        user = user_or_404(store, user_key)
        found: list[StoredEvent] = []
        for event in store.mailbox(user["id"]).values():
            if event.type == "seriesMaster":
                found.extend(instances_of(event, start, end))
            elif _overlaps(event, start, end):
                found.append(event.clone())
    return sorted(found, key=lambda e: (events.utc_start(e), e.id))


def instances(store: Store, user_key: str, master_id: str, start: dt.datetime, end: dt.datetime) -> list[StoredEvent]:
    with store.lock:
        event, master = resolve(store, user_key, master_id)
        if master is not None or event.type != "seriesMaster":
            raise GraphError(400, "ErrorInvalidRequest", "The specified event is not a series master.")
        return sorted(instances_of(event, start, end), key=lambda e: events.utc_start(e))
