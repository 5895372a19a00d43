"""Which function key opens which HTTP route, on top of the Functions host's own check.

The app hands two keys to outsiders: Graph gets WEBHOOK_FUNCTION_KEY in every subscription's notification and
lifecycle URL (`?code=`), and OpenAir's form script holds OPENAIR_PUSH_KEY. The host admits a *function* key
only to its own function, but a *host* key to every function (learn.microsoft.com/azure/azure-functions/
function-keys-how-to), and a deployment can only create host keys: function keys cannot exist before the
code is deployed (the host answers 404 for a function it has not indexed). So, whatever kind of key they are:

- the Graph webhook routes (notifications and lifecycle) admit only WEBHOOK_FUNCTION_KEY;
- the OpenAir push route admits only OPENAIR_PUSH_KEY;
- the administrators' routes (`manage/*`) refuse both: a key taken from a subscription URL or from the form
  script opens nothing else. Administrators use the host's `default` key, never put in any URL we hand out.

A route whose own key is not configured (a local run without it) is left to the host's check alone.
Comparisons are constant-time, so timing does not tell how much of a key was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from enum import Enum

from shared.secrets import SecretProvider

KEY_HEADER = "x-functions-key"


class Caller(Enum):
    """Who calls a route family, and the setting holding the only key that family admits ("" = any key)."""

    GRAPH = "WEBHOOK_FUNCTION_KEY"
    OPENAIR = "OPENAIR_PUSH_KEY"
    ADMINISTRATOR = ""


OUTSIDERS = (Caller.GRAPH, Caller.OPENAIR)


def presented_key(params: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """The key as the host reads it: the `x-functions-key` header, else the `code` query parameter."""
    header = next((value for name, value in headers.items() if name.lower() == KEY_HEADER), None)
    return header or params.get("code") or None


def admits(caller: Caller, presented: str | None, secrets: SecretProvider) -> bool:
    """Whether a request presenting `presented` may go on to `caller`'s routes (the host already let it in)."""
    if caller is Caller.ADMINISTRATOR:
        return not any(_same(presented, secrets.get(outsider.value)) for outsider in OUTSIDERS)
    own = secrets.get(caller.value)
    return not own or _same(presented, own)


def _same(presented: str | None, key: str | None) -> bool:
    if not presented or not key:
        return False
    return hmac.compare_digest(presented.encode(), key.encode())
