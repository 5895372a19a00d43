"""App settings as the Functions host sees them: `local.settings.json` Values plus the environment.

Core Tools loads `Values` but an environment variable of the same name wins; this host does the same.
Binding expressions `%NAME%` (schedules, queue names, routes) are resolved from these settings, and an
unknown name is an error at start-up, as it is for the real host's function indexing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

_PLACEHOLDER = re.compile(r"%([^%]+)%")


class SettingsError(ValueError):
    """Settings cannot be read, or a binding names a setting that is not set."""


class AppSettings(Mapping[str, str]):
    """Read-only app settings; `resolve` expands `%NAME%` binding expressions."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    @classmethod
    def load(cls, path: Path | None, environ: Mapping[str, str] | None = None) -> AppSettings:
        """`Values` of a local.settings.json (if the file exists), overlaid by the environment."""
        values: dict[str, str] = {}
        if path is not None and path.exists():
            values.update(read_local_settings(path))
        values.update(os.environ if environ is None else environ)
        return cls(values)

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def resolve(self, text: str, *, where: str) -> str:
        """Replace each `%NAME%` with the setting's value; `where` names the binding for the error."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self._values:
                raise SettingsError(f"{where}: app setting {name!r} is not set (referenced as %{name}%)")
            return self._values[name]

        return _PLACEHOLDER.sub(value, text)


def read_local_settings(path: Path) -> dict[str, str]:
    """The `Values` section of a local.settings.json file, as strings."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read local settings ({exc})") from exc
    if document.get("IsEncrypted"):
        raise SettingsError(f"{path}: IsEncrypted is true; decrypt it with `func settings decrypt` first")
    values = document.get("Values", {})
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: 'Values' must be an object of setting names to strings")
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def export_to_environ(settings: Mapping[str, str]) -> None:
    """Make settings visible to the app's own code (it reads os.environ), never overriding the environment."""
    for name, value in settings.items():
        os.environ.setdefault(name, value)
