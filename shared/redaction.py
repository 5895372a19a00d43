"""The secret values this process holds, and their removal from any text about to leave it (logs above all).

Every value a secret provider hands out is registered here as it is handed out (`shared.secrets`), so the list
is the same whether the secrets came from Key Vault or from the environment; `shared.logging_setup` adds the
platform's keys from the environment. A secret is looked for in every form text may carry it in: as is, escaped
inside JSON (quotes, backslashes, `\\u00e9`), inside a Python repr, and URL-encoded in a query string.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def forms(secret: str) -> set[str]:
    """The ways `secret` can appear in text: raw, JSON-escaped (ASCII or not), repr-escaped, URL-encoded."""
    found = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
    }
    return {form for form in found if len(form) >= MIN_SECRET_LENGTH}


def register(values: Iterable[str | None]) -> None:
    """Remember these values as secrets (empty and short ones are ignored)."""
    global _pattern
    with _lock:
        fresh = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH} - _secrets
        if not fresh:
            return
        _secrets.update(fresh)
        every = sorted({form for secret in _secrets for form in forms(secret)}, key=len, reverse=True)
        _pattern = re.compile("|".join(map(re.escape, every)))  # longest first: a secret inside another goes whole


def registered() -> bool:
    return _pattern is not None


def redact(text: str) -> str:
    """`text` with every form of every registered secret replaced by `***`."""
    pattern = _pattern
    return text if pattern is None else pattern.sub(MASK, text)


def contains_secret(text: str) -> bool:
    pattern = _pattern
    return pattern is not None and pattern.search(text) is not None


def redact_value(value: object) -> object:
    """A value with its secrets replaced: strings redacted, containers rebuilt, anything else whose text holds a
    secret replaced by that text redacted (its type is lost; the secret must be)."""
    if _pattern is None or value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if type(value) is dict:
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(redact_value(v) for v in value)  # type: ignore[call-arg, attr-defined]
    text = str(value) if not isinstance(value, bytes) else value.decode("utf-8", "replace")
    return redact(text) if contains_secret(text) or contains_secret(repr(value)) else value
