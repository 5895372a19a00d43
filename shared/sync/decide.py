"""Pure decisions: an outbox entry (what should be) against a link (what we wrote) → the step to take."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass
from enum import StrEnum

from shared.domain.events import CreateEvent, DeleteEvent, EventDraft, EventWrite, UpdateEvent
from shared.domain.links import Desire, Link, LinkState, OutboxEntry
from shared.sync.render import RENDER_VERSION

# Namespace for transaction ids: the same (mailbox, record, generation) always yields the same id, so a create
# retried after a lost answer is recognised by Graph and makes no second event.
_TRANSACTION_NAMESPACE = uuid.UUID("3f0b9a4c-58d2-4c1e-8f4e-6d0e2b7a9c15")


def content_hash(draft: EventDraft, render_version: int | None = None) -> str:
    """Hash of everything we write and of the rendering that wrote it (`render.RENDER_VERSION` unless given): equal
    hashes mean the event already looks right. Version 1 adds nothing, so the links written before render versions
    existed stay valid."""
    version = RENDER_VERSION if render_version is None else render_version
    text = draft.model_dump_json()
    if version != 1:
        text = f"render {version}\n{text}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def transaction_id(mailbox_id: str, key: str, generation: int) -> str:
    return str(uuid.uuid5(_TRANSACTION_NAMESPACE, f"{mailbox_id}|{key}|{generation}"))


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RECOVER = "recover"  # a create was sent before but its answer never recorded: look the event up first
    SUPERSEDED = "superseded"  # an older version than the one the event already shows: settle, write nothing
    WAIT = "wait"  # the mailbox is unavailable as a whole (licence removed, user deleted): keep it all for later
    UNCHANGED = "unchanged"
    NOTHING = "nothing"  # remove wanted, nothing was ever written


@dataclass(frozen=True)
class Step:
    entry: OutboxEntry
    action: Action
    link: Link | None
    draft: EventDraft | None = None
    mailbox_id: str = ""

    def write(self) -> EventWrite | None:
        if self.action is Action.CREATE and self.draft is not None and self.link is not None:
            return CreateEvent(draft=self.draft, transaction_id=self.link.transaction_id)
        if self.action is Action.UPDATE and self.draft is not None and self.link is not None:
            return UpdateEvent(event_id=self.link.event_id, draft=self.draft)
        if self.action is Action.DELETE and self.link is not None:
            return DeleteEvent(event_id=self.link.event_id)
        return None


def decide(entry: OutboxEntry, link: Link | None, mailbox_id: str) -> Step:
    """What to do for one record. `mailbox_id` is where the user's events live now ('' if unmapped)."""
    if link is not None and link.state is LinkState.HELD and link.mailbox_id == mailbox_id:
        return Step(entry, Action.NOTHING, link)  # held by the cutover; a removal just forgets the hold
    if entry.desire is Desire.REMOVE:
        if link is None:
            return Step(entry, Action.NOTHING, None)
        if link.state is LinkState.CREATING or not link.event_id:
            return Step(entry, Action.RECOVER, link, mailbox_id=link.mailbox_id)
        return Step(entry, Action.DELETE, link, mailbox_id=link.mailbox_id)

    draft = EventDraft.model_validate_json(entry.draft_json)
    if not mailbox_id:
        return Step(entry, Action.NOTHING, link, draft)
    if link is not None and link.mailbox_id and link.mailbox_id != mailbox_id:
        if link.state is LinkState.CREATING or not link.event_id:
            # A create in the previous mailbox whose answer was lost: find that copy first, so it is retired too
            # (the recovery decides again, with the event id, and lands in the branch below).
            return Step(entry, Action.RECOVER, link, draft, mailbox_id)
        # The user's mailbox changed: create here; the copy there is retired (removed once this one exists, and
        # remembered until its removal succeeds, whatever happens in between).
        previous = ((link.mailbox_id, link.event_id),) if link.event_id else ()
        fresh = dataclasses.replace(
            new_link(entry.user_id, entry.key, mailbox_id, link.generation + 1), retired=link.retired + previous
        )
        return Step(entry, Action.CREATE, fresh, draft, mailbox_id)
    if link is None:
        return Step(entry, Action.CREATE, new_link(entry.user_id, entry.key, mailbox_id, 0), draft, mailbox_id)
    if link.state is LinkState.CREATING or not link.event_id:
        return Step(entry, Action.RECOVER, link, draft, mailbox_id)
    if link.content_hash == content_hash(draft):
        return Step(entry, Action.UNCHANGED, link, draft, mailbox_id)
    return Step(entry, Action.UPDATE, link, draft, mailbox_id)


def new_link(user_id: str, key: str, mailbox_id: str, generation: int) -> Link:
    return Link(
        user_id=user_id,
        key=key,
        mailbox_id=mailbox_id,
        state=LinkState.CREATING,
        transaction_id=transaction_id(mailbox_id, key, generation),
        generation=generation,
    )
