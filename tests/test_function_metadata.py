"""The binding metadata azure-functions generates for every function (`get_function_json()`), checked against
the rules the Functions host applies when it indexes the app: a function that breaks one is "in error" on Azure
(or, for a reserved route, never reachable), which no unit test of the handler would notice.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

import function_app
from sandbox.host.loader import functions_of
from sandbox.host.ncrontab import Schedule
from shared import settings
from tests.infra.bicep import get, literal, load, properties, text

TRIGGERS = {"httpTrigger", "timerTrigger", "queueTrigger"}
OUTPUTS = {"http", "queue"}
# Azure Storage queue names: 3-63 characters, lowercase letters, digits and single hyphens, alphanumeric ends.
QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
# The host accepts function names of letters, digits, '_' and '-', starting with a letter, up to 128 characters.
FUNCTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")


def _metadata() -> dict[str, dict[str, Any]]:
    return {str(f.get_function_name()): json.loads(f.get_function_json()) for f in functions_of(function_app.app)}


METADATA = _metadata()


def _bindings(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, b) for name, doc in METADATA.items() for b in doc["bindings"] if b["type"] == kind]


def test_function_names_are_valid_and_unique_ignoring_case() -> None:
    assert all(FUNCTION_NAME.match(name) for name in METADATA), sorted(METADATA)
    assert not [n for n, c in Counter(n.lower() for n in METADATA).items() if c > 1]


@pytest.mark.parametrize("name", sorted(METADATA))
def test_one_trigger_in_and_only_known_outputs(name: str) -> None:
    bindings = METADATA[name]["bindings"]
    assert METADATA[name]["scriptFile"] == "function_app.py"
    triggers = [b for b in bindings if b["type"] in TRIGGERS]
    assert len(triggers) == 1, f"{name}: one trigger, got {[b['type'] for b in bindings]}"
    assert triggers[0]["direction"] == "IN"
    for binding in bindings:
        if binding is triggers[0]:
            continue
        assert binding["type"] in OUTPUTS, f"{name}: binding type {binding['type']!r} is not run by this app"
        assert binding["direction"] == "OUT", f"{name}: {binding['name']} must be an output"
    http_outputs = [b for b in bindings if b["type"] == "http"]
    if triggers[0]["type"] == "httpTrigger":
        assert [b["name"] for b in http_outputs] == ["$return"], f"{name}: an HTTP function answers through $return"
    else:
        assert not http_outputs


def test_queues_are_valid_on_the_default_connection_and_every_output_has_a_consumer() -> None:
    consumed = {b["queueName"] for _, b in _bindings("queueTrigger")}
    for name, binding in _bindings("queue") + _bindings("queueTrigger"):
        assert QUEUE_NAME.match(binding["queueName"]), f"{name}: queue name {binding['queueName']!r}"
        assert binding["connection"] == "AzureWebJobsStorage", name
    orphans = {(name, b["queueName"]) for name, b in _bindings("queue") if b["queueName"] not in consumed}
    assert not orphans, f"messages written where no function reads them: {sorted(orphans)}"


def _deployed_setting(name: str) -> str:
    """An app setting's value as `azd up` sets it: api.bicep appSettings <- main.bicep param default."""
    api_value = text(properties(load("infra/app/api.bicep").var("appSettings"))[name])
    module = load("infra/main.bicep").declarations("module")["api"]
    main_param = text(get(module.body, "params", api_value))
    default = literal(load("infra/main.bicep").param_default(main_param))
    assert isinstance(default, str), f"{name}: main.bicep parameter {main_param} needs a literal default"
    return default


def test_timer_schedules_resolve_as_deployed_and_parse_as_ncrontab() -> None:
    defaults = {f.alias: f.default for section in _sections() for f in section.model_fields.values() if f.alias}
    for name, binding in _bindings("timerTrigger"):
        expression = binding["schedule"]
        placeholder = re.fullmatch(r"%([^%]+)%", expression)
        if placeholder:
            setting = placeholder.group(1)
            expression = _deployed_setting(setting)
            assert defaults.get(setting) == expression, f"{setting}: code default and template default differ"
        assert len(expression.split()) == 6, f"{name}: NCRONTAB with seconds first, got {expression!r}"
        Schedule.parse(expression)  # raises with the reason when the host could not run it
        assert binding.get("runOnStartup") is False, f"{name}: runOnStartup fires on every scale-out and restart"


def test_routes_avoid_the_reserved_admin_prefix_and_never_collide() -> None:
    seen: Counter[tuple[str, str]] = Counter()
    for name, binding in _bindings("httpTrigger"):
        route = binding.get("route") or name
        assert not route.startswith("/"), f"{name}: route {route!r}"
        assert not route.lower().startswith("admin"), f"{name}: routes under admin are the host's own API"
        for method in binding.get("methods") or ["*"]:
            seen[(route.lower(), method.upper())] += 1
    assert not [key for key, count in seen.items() if count > 1]


def test_every_http_function_needs_a_function_key() -> None:
    """Never anonymous, and never admin-level (that key is the master key, which no caller should hold)."""
    levels = {name: b["authLevel"] for name, b in _bindings("httpTrigger")}
    assert levels
    assert set(levels.values()) == {"FUNCTION"}, levels


def _sections() -> list[type[Any]]:
    found: list[type[Any]] = []
    stack: list[type[Any]] = [settings._Section]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found
