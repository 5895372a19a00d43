"""Function keys, as the real host checks them: a function key opens only its own function.

Azure keeps three kinds of key (learn.microsoft.com/azure/azure-functions/function-keys-how-to):
- function keys belong to one function and open only that function's `function`-level route;
- host keys open the `function`-level routes of every function of the app;
- the master key (`_master`) opens everything, `admin`-level routes and the host's admin API included.
A key arrives as `?code=` or in the `x-functions-key` header. `anonymous` routes need none.

Settings (local.settings.json Values or the environment); an empty one is generated for this run:
- `FUNCTIONS_FUNCTION_KEY`: every function's `default` function key, one value for all (Azure generates one
  per function; a shared value keeps local scripts short and is still a function key: it opens no admin route);
- `FUNCTIONS_HOST_KEY`: the host `default` key; `FUNCTIONS_MASTER_KEY`: the master key;
- `FUNCTIONS_KEY__<function>__<name>`: a named key of one function (as `az functionapp function keys set`);
- `FUNCTIONS_HOST_KEY__<name>`: a named host key (as `Microsoft.Web/sites/host/functionKeys`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

KEY_SETTINGS = {
    "function": "FUNCTIONS_FUNCTION_KEY",
    "host": "FUNCTIONS_HOST_KEY",
    "master": "FUNCTIONS_MASTER_KEY",
}
FUNCTION_KEY_PREFIX = "FUNCTIONS_KEY__"
HOST_KEY_PREFIX = "FUNCTIONS_HOST_KEY__"


@dataclass(frozen=True)
class HostKeys:
    function: str  # every function's `default` key
    host: str  # the host `default` key
    master: str
    generated: tuple[str, ...]  # setting names of the keys made up for this run, so the CLI can show them
    function_keys: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # function (lower) -> name -> key
    host_keys: Mapping[str, str] = field(default_factory=dict)  # named host keys besides `default`

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> HostKeys:
        values: dict[str, str] = {}
        generated: list[str] = []
        for kind, setting in KEY_SETTINGS.items():
            value = settings.get(setting, "")
            if not value:
                value = secrets.token_urlsafe(32)
                generated.append(setting)
            values[kind] = value
        function_keys: dict[str, dict[str, str]] = {}
        host_keys: dict[str, str] = {}
        for name, value in settings.items():
            if not value:
                continue
            if name.startswith(FUNCTION_KEY_PREFIX):
                function, _, key_name = name[len(FUNCTION_KEY_PREFIX) :].partition("__")
                if function and key_name:
                    function_keys.setdefault(function.lower(), {})[key_name] = value
            elif name.startswith(HOST_KEY_PREFIX):
                host_keys[name[len(HOST_KEY_PREFIX) :]] = value
        return cls(values["function"], values["host"], values["master"], tuple(generated), function_keys, host_keys)

    def permits(self, auth_level: str, presented: str | None, function: str | None = None) -> bool:
        """Whether a request presenting this key may call `function`'s route of this auth level."""
        level = auth_level.lower()
        if level == "anonymous":
            return True
        if presented is None:
            return False
        if level == "function":
            own = self.function_keys.get((function or "").lower(), {}).values()
            keys = (self.function, *own, self.host, *self.host_keys.values(), self.master)
            return any(_same(presented, key) for key in keys)
        return _same(presented, self.master)  # admin, and any level this host does not know, need the master key

    def is_master(self, presented: str | None) -> bool:
        return presented is not None and _same(presented, self.master)


def _same(presented: str, key: str) -> bool:
    # Constant time, so response timing does not leak how much of a key was right.
    return hmac.compare_digest(presented.encode(), key.encode())
