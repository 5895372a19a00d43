"""Errors the Graph gateway raises; each names what happened and what to do."""

from __future__ import annotations

from shared.errors import SyncError

MAILBOX_HINT = (
    "The mailbox answers as if it had no Exchange Online licence or its user was deleted; the product keeps its "
    "links and pending changes and retries on every run. Give the licence back (or restore the user), or map the "
    "OpenAir user to their new mailbox in UserMappings."
)


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
