"""Function keys, as the real host checks them.

Three keys, each from an app setting or generated for this run when the setting is empty:
- `FUNCTIONS_FUNCTION_KEY`: opens `function`-level routes (stands in for each function's `default` key);
- `FUNCTIONS_HOST_KEY`: opens `function`-level routes of every function (the host `default` key);
- `FUNCTIONS_MASTER_KEY`: the `_master` key; the only key for `admin`-level routes and the admin API.
A key arrives as `?code=` or in the `x-functions-key` header. `anonymous` routes need none.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

KEY_SETTINGS = {
    "function": "FUNCTIONS_FUNCTION_KEY",
    "host": "FUNCTIONS_HOST_KEY",
    "master": "FUNCTIONS_MASTER_KEY",
}


@dataclass(frozen=True)
class HostKeys:
    function: str
    host: str
    master: str
    generated: tuple[str, ...]  # setting names of the keys made up for this run, so the CLI can show them

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
        return cls(values["function"], values["host"], values["master"], tuple(generated))

    def permits(self, auth_level: str, presented: str | None) -> bool:
        """Whether a request presenting this key may call a route of this auth level."""
        level = auth_level.lower()
        if level == "anonymous":
            return True
        if presented is None:
            return False
        if level == "function":
            return any(_same(presented, key) for key in (self.function, self.host, self.master))
        return _same(presented, self.master)  # admin, and any level this host does not know, need the master key

    def is_master(self, presented: str | None) -> bool:
        return presented is not None and _same(presented, self.master)


def _same(presented: str, key: str) -> bool:
    # Constant time, so response timing does not leak how much of a key was right.
    return hmac.compare_digest(presented.encode(), key.encode())
