"""Turn what the SDK or the network raised, or what a $batch item answered, into our typed errors."""

from __future__ import annotations

from typing import Any

import httpx
from kiota_abstractions.api_error import APIError

from shared.domain.events import is_mailbox_unavailable
from shared.graph.errors import (
    MAILBOX_HINT,
    DeltaExpired,
    GraphAuthError,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    MailboxUnavailable,
)

AUTH_HINT = (
    "Check the app registration's Microsoft Graph application permissions (Calendars.ReadWrite, "
    "User.Read.All, Mail.Send) and that an admin granted consent, and that the mailbox is inside the "
    "app's Exchange RBAC for Applications management scope."
)
THROTTLE_HINT = "Still throttled after GRAPH_RETRY_BUDGET_SECONDS of honouring Retry-After; try again later."
DELTA_HINT = "The stored delta link has expired: start a fresh delta over the window and delete nothing."

# Any error status answers with ODataError ({"error": {"code", "message"}}), as the generated builders map it.
SDK_TRANSPORT_ERRORS = (APIError, httpx.HTTPError)


def error_map() -> dict[str, Any]:
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    return {"XXX": ODataError}


# A dead delta chain: 410 Gone, or the codes Graph uses for it with 400/404/410. `resyncRequired` is "the delta
# token is no longer valid, and the app must reset the sync state" (https://learn.microsoft.com/graph/errors).
DELTA_EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired"})


def is_delta_expired(status: int, code: str) -> bool:
    return status == 410 or code.lower() in DELTA_EXPIRED_CODES


def typed_error(status: int, code: str, message: str, operation: str, *, mailbox: bool = False) -> GraphError:
    """The GraphError subclass for one failed answer, its message saying what to do.

    `mailbox`: the request addressed a mailbox (`/users/{id}/…`), so a mailbox-level 404 code is about that
    mailbox (elsewhere ResourceNotFound may name a subscription)."""
    if is_delta_expired(status, code):
        return DeltaExpired(status, code, f"{message} {DELTA_HINT}".strip(), operation=operation)
    if status in (401, 403):
        return GraphAuthError(status, code, f"{message} {AUTH_HINT}".strip(), operation=operation)
    if mailbox and is_mailbox_unavailable(status, code):
        return MailboxUnavailable(status, code, f"{message} {MAILBOX_HINT}".strip(), operation=operation)
    if status == 404:
        return GraphNotFound(status, code, message, operation=operation)
    if status == 429:
        return GraphThrottled(status, code, f"{message} {THROTTLE_HINT}".strip(), operation=operation)
    return GraphError(status, code, message, operation=operation)


def from_exception(exc: Exception, operation: str, *, mailbox: bool = False) -> GraphError:
    """Map an SDK APIError/ODataError or an httpx transport failure (status 0) to a typed GraphError."""
    if isinstance(exc, APIError):
        status = exc.response_status_code or 0
        detail = getattr(exc, "error", None)  # ODataError.error is a MainError(code, message)
        code = getattr(detail, "code", None) or type(exc).__name__
        message = getattr(detail, "message", None) or exc.message or str(exc)
        return typed_error(status, str(code), str(message), operation, mailbox=mailbox)
    return GraphError(0, type(exc).__name__, str(exc) or repr(exc), operation=operation)


def from_body(body: Any) -> tuple[str, str]:
    """(code, message) of a Graph error body `{"error": {"code", "message"}}`, tolerating other shapes."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or "Unknown"), str(error.get("message") or "")
    return "Unknown", "" if body is None else str(body)[:200]
