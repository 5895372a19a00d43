"""Typed OpenAir failures. Every message carries the code, the command (`Read Booking`) and OpenAir's text.

OpenAir reports API errors inside HTTP 200 XML as `status="NNN"` on the command element; `error_for` turns
one such status into the class whose name says what happened, and for authentication failures which setting
an administrator has to fix.
"""

from __future__ import annotations

from shared.errors import SyncError

# OpenAir's own short descriptions (reference: "Error codes (selection)"), used when the response has no text.
DESCRIPTIONS: dict[int, str] = {
    1: "unknown error",
    2: "not logged in",
    5: "unknown command",
    # Authentication, as Oracle's error-code page lists them.
    401: "no such company/user/password",
    402: "old login, internal error",
    403: "no company name supplied",
    404: "no user name supplied",
    405: "no password supplied",
    406: "invalid company name",
    408: "bad password",
    409: "account cancelled",
    410: "inactive user",
    411: "account conflict",
    412: "wrong namespace",
    413: "account not privileged to access the API",
    414: "account temporarily unavailable",
    415: "account archived",
    416: "user locked",
    417: "restricted IP address",
    418: "invalid session",
    419: "authentication failed, please retry",
    420: "authentication failed",
    421: "account misconfiguration or invalid assertion",
    422: "LDAP server unavailable",
    423: "no permission to read ServerStatus",
    426: "must use the account-specific domain",
    556: "API request frequency limit reached",
    601: "no results / invalid id",
    602: "invalid field",
    603: "invalid type or method",
    605: "limit clause missing or larger than 1000",
    703: "delete failed",
    1001: "invalid state",
    1002: "submit/approve error",
    1200: "ModifyOnCondition condition not met (record changed since)",
}

# What an administrator changes for each authentication failure.
_AUTH_FIXES: dict[int, str] = {
    401: "check OPENAIR_COMPANY, OPENAIR_USER and OPENAIR_PASSWORD: no such company, user or password",
    402: "OpenAir had an internal error signing in; try again, then contact OpenAir support",
    403: "set OPENAIR_COMPANY (the company id)",
    404: "set OPENAIR_USER (the API user's name)",
    405: "set OPENAIR_PASSWORD (or OPENAIR_ACCESS_TOKEN to sign in with an OAuth token)",
    406: "check OPENAIR_COMPANY: OpenAir knows no company by that id",
    408: "check OPENAIR_PASSWORD: the password is wrong",
    409: "the OpenAir account is cancelled; contact OpenAir support",
    410: "OPENAIR_USER is inactive in OpenAir; activate it or use another API user",
    411: "OpenAir reports an account conflict for OPENAIR_USER; contact OpenAir support",
    412: "check OPENAIR_NAMESPACE (issued with the API key)",
    413: "API access is not enabled for this account or OPENAIR_API_KEY is wrong; ask OpenAir support",
    414: "the account is temporarily unavailable; try again later",
    415: "the OpenAir account is archived; contact OpenAir support",
    416: "OPENAIR_USER is locked in OpenAir; unlock it",
    417: "the function app's outbound IP is not allowed by OpenAir's IP restrictions",
    418: "the session or OPENAIR_ACCESS_TOKEN is invalid or expired; renew OPENAIR_ACCESS_TOKEN",
    419: "a transient sign-in failure; it is retried, and persisting, check OPENAIR_USER and OPENAIR_PASSWORD",
    420: "sign-in refused: check OPENAIR_USER and OPENAIR_PASSWORD (or OPENAIR_ACCESS_TOKEN)",
    421: "the account's single sign-on or OPENAIR_ACCESS_TOKEN assertion is misconfigured; check the OAuth/SSO setup",
    422: "OpenAir's LDAP server is unavailable; it is retried, and persisting, contact OpenAir support",
    423: "OPENAIR_USER may not read ServerStatus; give it that permission or do not read it",
    426: "OPENAIR_BASE_URL must be the account-specific domain, https://<company-id>.app.openair.com",
}
AUTH_CODES = frozenset(range(401, 424)) | {426}
# Oracle: 419 "authentication failed, please retry" and 422 "LDAP server unavailable" pass on a later attempt.
TRANSIENT_AUTH_CODES = frozenset({419, 422})
# Signing in with OPENAIR_ACCESS_TOKEN, these mean the token is the one to look at.
_TOKEN_CODES = frozenset({401, 418, 420})


class OpenAirError(SyncError):
    """An error OpenAir reported (or a failure talking to it), tied to the command that was running."""

    def __init__(self, code: int, command: str, message: str = "", *, hint: str = "") -> None:
        self.code = code
        self.command = command
        self.openair_message = message or DESCRIPTIONS.get(code, "")
        self.hint = hint
        text = f"OpenAir error {code} on {command}: {self.openair_message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class OpenAirAuthError(OpenAirError):
    """Credentials, namespace, key or domain refused; the message names the setting to fix. Retried only for
    the transient codes (419, 422)."""

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT_AUTH_CODES


class OpenAirRateLimited(OpenAirError):
    """556: the account's per-minute or per-day request limit was reached."""


class OpenAirConditionFailed(OpenAirError):
    """1200: ModifyOnCondition refused because the record changed after the given date."""


class OpenAirInvalidRequest(OpenAirError):
    """The request itself is wrong (invalid field, type, method, limit, id...): retrying will not help."""


class OpenAirTransportError(OpenAirError):
    """HTTP error status, timeout or connection failure; code is the HTTP status or 0 when there was none."""


class OpenAirProtocolError(OpenAirError):
    """The response (or a value in it) is not the XML OpenAir promises: malformed, hostile or oddly shaped.

    `retryable` is set for a response that did not parse at all (a truncated body passes on a retry); hostile
    XML and unexpected shapes are not retried.
    """

    def __init__(self, code: int, command: str, message: str = "", *, retryable: bool = False) -> None:
        super().__init__(code, command, message)
        self.retryable = retryable


class OpenAirResponseTooLarge(OpenAirProtocolError):
    """The response grew past the size the client accepts; reading stopped there. The same request would get
    the same answer, so it is not retried as is: fewer commands per request (or a smaller page) is the fix."""

    def __init__(self, command: str, limit: int) -> None:
        super().__init__(
            0, command, f"response larger than {limit:,} bytes; reading stopped there (read fewer records per request)"
        )
        self.limit = limit


def error_for(code: int, command: str, message: str = "", *, token_auth: bool = False) -> OpenAirError:
    """The typed error for a non-zero OpenAir status on `command` (`token_auth`: the request logged in by token)."""
    if code in AUTH_CODES:
        hint = _AUTH_FIXES.get(code, "check the OPENAIR_* settings")
        if token_auth and code in _TOKEN_CODES:
            hint = "OPENAIR_ACCESS_TOKEN is invalid or expired; renew it (it is used instead of the password)"
        return OpenAirAuthError(code, command, message, hint=hint)
    if code == 556:
        return OpenAirRateLimited(code, command, message, hint="raise the account's API limits or sync less often")
    if code == 1200:
        return OpenAirConditionFailed(code, command, message)
    if code in (2, 5) or 600 <= code < 2000:
        return OpenAirInvalidRequest(code, command, message)
    return OpenAirError(code, command, message)


def is_retryable(error: OpenAirError) -> bool:
    """Rate limits, transient sign-in failures and transport failures may pass; nothing else would."""
    if isinstance(error, OpenAirRateLimited):
        return True
    if isinstance(error, OpenAirAuthError):
        return error.transient
    if isinstance(error, OpenAirTransportError):
        return error.code == 0 or error.code >= 500 or error.code in (408, 429)
    return isinstance(error, OpenAirProtocolError) and error.retryable
