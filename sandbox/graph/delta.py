"""`calendarView/delta`: state tokens that remember what a client has seen, kept server-side.

A `$deltatoken` names a snapshot (event id -> content fingerprint) of one mailbox's window; the next call
diffs the live calendarView against it. A `$skiptoken` names the rest of a round not yet paged out. Both are
opaque random strings, as Graph's are. Expiring them (control API) makes every existing token answer like
lost sync state does in Graph.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field

from sandbox.graph import events, mailbox
from sandbox.graph.errors import GraphError
from sandbox.graph.options import Options
from sandbox.graph.store import Change, Store, StoredEvent, split_occurrence_id

Item = StoredEvent | str  # an event to send, or the id of a removed one


@dataclass
class _Round:
    user_id: str
    start: dt.datetime
    end: dt.datetime
    snapshot: dict[str, str]  # what the client will have seen once this round is fully paged
    items: list[Item] = field(default_factory=list)
    heard: int = 0  # how much of the mailbox's change log this round has taken into account


@dataclass
class Page:
    items: list[Item]  # rendered by the server with each request's own preferences
    next_token: str | None  # a $skiptoken
    delta_token: str | None  # a $deltatoken (last page only)


def fingerprint(event: StoredEvent) -> str:
    rendered = events.render(event, events.RenderOptions())
    rendered.pop("@odata.etag", None)
    material = json.dumps(rendered, sort_keys=True) + json.dumps(sorted(event.extended.items()))
    return hashlib.sha256(material.encode()).hexdigest()


class DeltaTokens:
    def __init__(self, store: Store, options: Options) -> None:
        self.store = store
        self.options = options
        self._lock = threading.RLock()  # resume() pages while holding it
        self._deltas: dict[str, _Round] = {}  # deltatoken -> round whose snapshot it names
        self._skips: dict[str, tuple[_Round, int]] = {}  # skiptoken -> (round, offset of the next page)
        self._expired: set[str] = set()
        self._log: dict[str, list[str]] = {}  # mailbox -> ids of events changed, in order (any window)
        store.subscribe(self._hear)

    def _hear(self, change: Change) -> None:
        with self._lock:
            self._log.setdefault(change.mailbox, []).append(change.event_id)

    def expire_all(self) -> int:
        """Forget every token (as when Exchange drops sync state); they answer 410/SyncStateNotFound from now."""
        with self._lock:
            count = len(self._deltas) + len(self._skips)
            self._expired.update(self._deltas, self._skips)
            self._deltas.clear()
            self._skips.clear()
            self._log.clear()
        return count

    def _lost(self, base: str, user_id: str) -> GraphError:
        status = self.options.delta_expired_status
        if self.options.delta_expired_code == "resyncRequired":
            message = "The delta token is no longer valid, and the app must reset the sync state."
            code = "resyncRequired"
        elif status == 410:
            message = "The sync state generation is not valid or has expired. Please restart the sync."
            code = "syncStateNotFound"
        else:
            message = "The sync state is not found or has expired. Please restart the sync."
            code = "SyncStateNotFound"
        headers = {"Location": f"{base}/users/{user_id}/calendarView/delta?$deltatoken="} if status == 410 else {}
        return GraphError(status, code, message, headers)

    def start(self, user_key: str, start: dt.datetime, end: dt.datetime, page_size: int) -> Page:
        """A fresh round: everything in the window."""
        view = mailbox.calendar_view(self.store, user_key, start, end)
        user = mailbox.user_or_404(self.store, user_key)
        with self._lock:
            heard = len(self._log.get(user["id"], []))
        round_ = _Round(user["id"], start, end, {e.id: fingerprint(e) for e in view}, list(view), heard)
        return self._page(round_, 0, page_size)

    def resume(self, user_key: str, base: str, *, delta: str | None, skip: str | None, page_size: int) -> Page:
        user = mailbox.user_or_404(self.store, user_key)
        with self._lock:
            if skip is not None:
                found = self._skips.get(skip)
                if found is None:
                    raise self._lost(base, user["id"])
                round_, offset = found
                if round_.user_id != user["id"]:
                    raise self._lost(base, user["id"])
                return self._page(round_, offset, page_size)
            previous = self._deltas.get(delta or "")
            if previous is None or previous.user_id != user["id"]:
                raise self._lost(base, user["id"])
        view = mailbox.calendar_view(self.store, user["id"], previous.start, previous.end)
        now = {e.id: fingerprint(e) for e in view}
        items: list[Item] = [e for e in view if previous.snapshot.get(e.id) != now[e.id]]
        removed = [gone for gone in previous.snapshot if gone not in now]
        with self._lock:
            log = self._log.get(user["id"], [])
            heard, touched = len(log), list(dict.fromkeys(log[previous.heard :]))
        if self.options.removed_outside_window:
            outside = [i for i in touched if i not in now and i not in previous.snapshot]
            removed.extend(i for i in outside if not self._master(user["id"], i))
        if not self.options.occurrence_delete_signal:
            removed = [i for i in removed if not self._cancelled_occurrence(user["id"], i)]
        items.extend(removed)
        return self._page(_Round(user["id"], previous.start, previous.end, now, items, heard), 0, page_size)

    def _master(self, user_id: str, event_id: str) -> bool:
        """A series master: calendarView lists its occurrences, not the master itself, whatever the window."""
        with self.store.lock:
            event = self.store.mailbox(user_id).get(event_id)
            return event is not None and event.type == "seriesMaster"

    def _cancelled_occurrence(self, user_id: str, event_id: str) -> bool:
        split = split_occurrence_id(event_id)
        if split is None:
            return False
        with self.store.lock:
            master = self.store.mailbox(user_id).get(split[0])
            return master is not None and split[1] in master.cancelled

    def _page(self, round_: _Round, offset: int, page_size: int) -> Page:
        chunk = round_.items[offset : offset + page_size]
        with self._lock:
            if offset + page_size < len(round_.items):
                token = secrets.token_urlsafe(48)
                self._skips[token] = (round_, offset + page_size)
                return Page(chunk, token, None)
            token = secrets.token_urlsafe(48)
            self._deltas[token] = round_
            return Page(chunk, None, token)
