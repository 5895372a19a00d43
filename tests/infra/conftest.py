"""What the app itself says it needs (settings, tables, queues, routes), read from the code at test time.

`app.get_functions()` may run once per app object and importing function_app registers every blueprint, so the
facts are collected in a child interpreter, once per session, and handed to the tests as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.bicep import REPO

_COLLECT = r"""
import json, re
import function_app
from shared import settings
from shared.store.store import ALL_TABLES

def sections(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from sections(sub)

fields = {}
for section in sections(settings._Section):
    for field in section.model_fields.values():
        if field.alias:
            required = field.is_required()
            fields[field.alias] = {"required": required, "default": None if required else repr(field.default)}

queues, routes, placeholders = {}, [], set()
for function in function_app.app.get_functions():
    for binding in function.get_bindings():
        spec = binding.get_dict_repr()
        for value in spec.values():
            if isinstance(value, str):
                placeholders.update(re.findall(r"%([^%]+)%", value))
        if spec["type"] in ("queue", "queueTrigger"):
            queue = queues.setdefault(spec["queueName"], {"triggered": False})
            queue["triggered"] = queue["triggered"] or spec["type"] == "queueTrigger"
        if spec["type"] == "httpTrigger":
            routes.append(spec.get("route") or function.get_function_name())

print(json.dumps({
    "setting_names": sorted(settings.setting_names()),
    "fields": fields,
    "secrets": list(settings.SECRET_SETTINGS),
    "tables": list(ALL_TABLES),
    "queues": queues,
    "routes": routes,
    "placeholders": sorted(placeholders),
}))
"""


@dataclass(frozen=True)
class AppFacts:
    setting_names: list[str]
    fields: dict[str, dict[str, Any]]
    secrets: list[str]
    tables: list[str]
    queues: dict[str, dict[str, bool]]
    routes: list[str]
    placeholders: list[str]

    def queue_names(self) -> set[str]:
        """Every queue bound, plus `<queue>-poison` for the triggered ones (where the host moves failures)."""
        names = set(self.queues)
        names.update(f"{name}-poison" for name, spec in self.queues.items() if spec["triggered"])
        return names


@pytest.fixture(scope="session")
def app_facts() -> AppFacts:
    done = subprocess.run(
        [sys.executable, "-c", _COLLECT], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"importing function_app failed:\n{done.stderr[-3000:]}"
    return AppFacts(**json.loads(done.stdout.strip().splitlines()[-1]))
