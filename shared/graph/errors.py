"""Errors the Graph gateway raises; each names what happened and what to do."""

from __future__ import annotations

from shared.errors import SyncError

# A 404 is about one of two different things. "This event is gone" (deleted in Outlook):
EVENT_GONE_CODES = frozenset({"erroritemnotfound", "itemnotfound"})
# "This whole mailbox is not there for REST": licence removed, mailbox inactive or soft-deleted
# (MailboxNotEnabledForRESTAPI, also seen as ResourceNotFound for the same mailbox,
# microsoftgraph/microsoft-graph-docs-contrib#4340), or the user deleted (ErrorInvalidUser, #5460). It passes when
# the licence comes back or the user is restored, and it says nothing about any one event.
MAILBOX_GONE_CODES = frozenset(
    {"mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi", "errorinvaliduser", "resourcenotfound"}
)
MAILBOX_HINT = (
    "The mailbox answers as if it had no Exchange Online licence or its user was deleted; the product keeps its "
    "links and pending changes and retries on every run. Give the licence back (or restore the user), or map the "
    "OpenAir user to their new mailbox in UserMappings."
)


def is_event_gone(status: int, code: str | None) -> bool:
    """404 for one event (deleted in Outlook), never for a whole mailbox."""
    return status == 404 and (code or "").lower() in EVENT_GONE_CODES


def is_mailbox_unavailable(status: int, code: str | None) -> bool:
    """404 for the whole mailbox: every request to it fails the same way until an administrator acts."""
    return status == 404 and (code or "").lower() in MAILBOX_GONE_CODES


class GraphError(SyncError):
    def __init__(self, status: int, code: str, message: str, *, operation: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.operation = operation
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}Graph answered {status} {code}: {message}")


class GraphAuthError(GraphError):
    """401/403: the app registration, its permissions or Exchange RBAC scoping need fixing."""


class GraphNotFound(GraphError):
    """404: the mailbox, event or subscription does not exist (or is outside the app's RBAC scope)."""


class MailboxUnavailable(GraphNotFound):
    """404 for the whole mailbox (licence removed, user deleted): not "the event is gone". Retry later."""


class GraphThrottled(GraphError):
    """429 persisted beyond the retry budget."""


class DeltaExpired(GraphError):
    """410 Gone / syncStateNotFound / resyncRequired: the stored delta link is dead. Start afresh; delete nothing."""
