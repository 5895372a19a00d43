"""What a run will write, mailbox by mailbox, decided by the mailbox worker's own rule (`decide`).

A dry run plans without writing; this turns its plan into the creates, updates and deletes each mailbox would
see. It counts what the real run applies: the plan's entries and, under them, what earlier runs left in the
outbox (the real run applies those too). Resync knows more than the tables: events it found edited or deleted in
Outlook, or that recreate would delete; `stale` names them, so they are previewed as the worker will meet them
(an edited event is updated, a deleted one created again).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.domain.links import OutboxEntry
from shared.store.store import SyncStore
from shared.sync.decide import Action, decide


@dataclass
class MailboxPreview:
    user_id: str
    create: list[str] = field(default_factory=list)  # record keys, e.g. booking:123
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.create) + len(self.update) + len(self.delete)

    def as_json(self) -> dict[str, object]:
        return {"user": self.user_id, "create": len(self.create), "update": len(self.update),
                "delete": len(self.delete), "records": {"create": self.create, "update": self.update,
                                                        "delete": self.delete}}  # fmt: skip


def preview_writes(
    store: SyncStore,
    planned: Mapping[str, list[OutboxEntry]],
    mailbox_ids: Mapping[str, str],
    *,
    users: set[str] | None = None,
    stale: Mapping[str, Mapping[str, bool]] | None = None,
) -> list[MailboxPreview]:
    """Per mailbox with writes, sorted by user. `stale[user][key]` is True for an event gone from Outlook (the
    worker will create it again) and False for one edited there (the worker will write it over)."""
    stale = stale or {}
    pending = {u for u in store.outbox_users() if users is None or u in users}
    previews: list[MailboxPreview] = []
    for user_id in sorted(pending | set(planned) | set(stale)):
        entries = {entry.key: entry for entry in store.outbox(user_id)}
        entries.update({entry.key: entry for entry in planned.get(user_id, [])})
        links = store.links(user_id)
        gone = stale.get(user_id, {})
        preview = MailboxPreview(user_id)
        for key, entry in sorted(entries.items()):
            link = links.get(key)
            if key in gone and link is not None:
                link = dataclasses.replace(link, content_hash="")  # what resync leaves for the worker
            step = decide(entry, link, mailbox_ids.get(user_id, ""))
            if step.action is Action.CREATE or (step.action is Action.UPDATE and gone.get(key, False)):
                preview.create.append(key)
            elif step.action in (Action.UPDATE, Action.RECOVER) and step.draft is not None:
                preview.update.append(key)
            elif step.action is Action.DELETE:
                preview.delete.append(key)
        if preview.writes:
            previews.append(preview)
    return previews
