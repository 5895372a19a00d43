"""Graph's error shape: every failure the simulator answers is a `GraphError` turned into one JSON body."""

from __future__ import annotations

import datetime as dt
from typing import Any


class GraphError(Exception):
    """An error answer: HTTP status, Graph error code and message, plus optional extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str, request_id: str, client_request_id: str) -> dict[str, Any]:
    """`{"error":{"code","message","innerError":{date, request-id, client-request-id}}}` as Graph sends it."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


def bad_request(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def invalid_user(user: str) -> GraphError:
    return GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")


# A mailbox that is not there for REST, as opposed to one event that is not there (ErrorItemNotFound):
# - licence removed / mailbox inactive or soft-deleted: 404 MailboxNotEnabledForRESTAPI "The mailbox is either
#   inactive, soft-deleted, or is hosted on-premise." (seen in iyear/E5SubBot#39); the same mailbox has also been
#   seen answering 404 ResourceNotFound "Resource could not be discovered." (microsoft-graph-docs-contrib#4340), so
#   the code is a choice;
# - user deleted: 404 ErrorInvalidUser "The requested user '…' is invalid." (microsoft-graph-docs-contrib#5460).
MAILBOX_STATES = ("active", "unlicensed", "deleted")
UNLICENSED_CODES = ("MailboxNotEnabledForRESTAPI", "ResourceNotFound")


def mailbox_unavailable(state: str, code: str, user: str) -> GraphError:
    if state == "deleted":
        return invalid_user(user)
    if code == "ResourceNotFound":
        return GraphError(404, "ResourceNotFound", "Resource could not be discovered.")
    return GraphError(
        404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
    )
