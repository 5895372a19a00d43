"""The committed OpenAPI description is current, and describes exactly the admin routes the decorators declare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import function_app
from sandbox.host.loader import functions_of
from shared.admin.openapi import ROUTE_PREFIX, build_document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def functions() -> list[Any]:
    # FunctionApp.get_functions() raises when called twice on one app: share the local host's one index of it.
    return functions_of(function_app.app)


def declared_admin_routes() -> set[tuple[str, str]]:
    routes: set[tuple[str, str]] = set()
    for function in functions():
        trigger = function.get_trigger()
        route = str(getattr(trigger, "route", "") or "")
        if trigger.get_binding_name() == "httpTrigger" and route.startswith("manage/"):
            for method in getattr(trigger, "methods", None) or []:
                routes.add((str(getattr(method, "value", method)).lower(), ROUTE_PREFIX + route))
            assert str(trigger.auth_level).upper().endswith(("FUNCTION", "ADMIN")), f"{route} must need a key"
    return routes


def test_committed_document_is_current() -> None:
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == build_document(), (
        "docs/openapi.json is stale: run `python -m shared openapi > docs/openapi.json`"
    )


def test_every_admin_route_is_described_and_every_described_route_exists() -> None:
    described = {(method, path) for path, item in build_document()["paths"].items() for method in item}
    declared = declared_admin_routes()
    assert declared, "no admin route found"
    assert declared - described == set(), "routes missing from the OpenAPI description"
    assert described - declared == set(), "described routes that no function serves"


def test_no_function_name_or_route_starts_with_admin() -> None:
    # The Functions host reserves `admin` (azure-functions-host#1781, #7634): such functions would not load.
    for function in functions():
        assert not function.get_function_name().lower().startswith("admin")
        assert not str(getattr(function.get_trigger(), "route", "") or "").lower().startswith("admin")
