"""The simulator's control API under `/_sim/`: faults, settings, counters, reset, and record edits made
"as a user in the OpenAir UI" (they move `updated` like any change, without an API request).

GET    /_sim/health                      {"ok": true}
GET    /_sim/stats                       {"requests", "by_command", "rejected"}
POST   /_sim/reset                       seed data back; counters, faults, rate windows cleared
POST   /_sim/faults                      {"kind": malformed|http|slow|rate_limit|auth, "count", "status", "seconds"}
DELETE /_sim/faults                      drop queued faults
PATCH  /_sim/config                      {"rate_per_minute", "rate_per_day", "latency_ms", "filter_boundary",
                                          "empty_read_status", "invalid_characters",
                                          "instant_offsets"}
GET    /_sim/records/{type}[/{id}]       records (created/updated as company-zone stamps)
POST   /_sim/records/{type}              create from {field: value}
PATCH  /_sim/records/{type}/{id}         change fields
DELETE /_sim/records/{type}/{id}         delete (then visible to deleted="1" reads, until purged after 180 days)
POST   /_sim/deleted/age                 {"days", "type"?, "id"?}: deleted records as if deleted `days` earlier
                                         (older than 180 days: purged, as OpenAir does); {"aged": n}
GET    /_sim/form-script                 the "After save" form script hook: url, counters (form_script.py)
PATCH  /_sim/form-script                 {"url", "secret", "function_key"}; url "" switches it off
"""

from __future__ import annotations

from typing import Any

from sandbox.openair.faults import Fault
from sandbox.openair.schema import FIELDS
from sandbox.openair.service import Service
from sandbox.openair.store import StoreError

Reply = tuple[int, Any]


def route(service: Service, method: str, path: str, body: Any) -> Reply:
    """(HTTP status, JSON value) for one control request."""
    parts = [p for p in path.split("/") if p][1:]  # drop "_sim"
    try:
        return _route(service, method, parts, body)
    except StoreError as exc:
        return (404 if exc.code == 601 else 400), {"error": exc.message, "code": exc.code}
    except (ValueError, TypeError, KeyError) as exc:
        return 400, {"error": str(exc)}


def _route(service: Service, method: str, parts: list[str], body: Any) -> Reply:
    head = parts[0] if parts else ""
    if (method, head) == ("GET", "health"):
        return 200, {"ok": True}
    if (method, head) == ("GET", "stats"):
        return 200, {**service.stats.as_json(), "faults_pending": service.faults.pending()}
    if (method, head) == ("POST", "reset"):
        service.reset()
        return 200, {"ok": True}
    if head == "faults":
        if method == "POST":
            return 200, {"pending": service.faults.add(Fault.from_json(body or {}))}
        if method == "DELETE":
            service.faults.clear()
            return 200, {"pending": 0}
    if (method, head) == ("PATCH", "config"):
        return 200, _configure(service, body or {})
    if head == "records" and len(parts) >= 2:
        status, value = _records(service, method, parts[1], parts[2] if len(parts) > 2 else None, body or {})
        if method in ("POST", "PATCH") and status in (200, 201):  # a save through the UI runs its form scripts
            service.form_script.after_save(parts[1], value)
        return status, value
    if (method, head) == ("POST", "deleted") and parts[1:] == ["age"]:
        config = body or {}
        type_name = config.get("type")
        if type_name is not None and type_name not in FIELDS:
            return 404, {"error": f"unknown type {type_name}"}
        record_id = None if config.get("id") is None else str(config["id"])
        return 200, {"aged": service.store.age_deletions(float(config["days"]), type_name, record_id)}
    if head == "form-script" and method == "GET":
        return 200, service.form_script.state()
    if head == "form-script" and method == "PATCH":
        config = body or {}
        service.form_script.configure(str(config.get("url", "")), str(config.get("secret", "")),
                                      str(config.get("function_key", "")))  # fmt: skip
        return 200, service.form_script.state()
    return 404, {"error": f"no control route {method} /_sim/{'/'.join(parts)}"}


def _configure(service: Service, body: dict[str, Any]) -> dict[str, Any]:
    if "rate_per_minute" in body:
        service.limiter.per_minute = int(body["rate_per_minute"])
    if "rate_per_day" in body:
        service.limiter.per_day = int(body["rate_per_day"])
    if "latency_ms" in body:
        service.latency_ms = float(body["latency_ms"])
    if "filter_boundary" in body:
        if body["filter_boundary"] not in ("exclusive", "inclusive"):
            raise ValueError("filter_boundary must be exclusive or inclusive")
        service.options.filter_boundary = body["filter_boundary"]
    if "instant_offsets" in body:
        service.options.instant_offsets = bool(body["instant_offsets"])
    if "invalid_characters" in body:
        if body["invalid_characters"] not in ("raw", "reference"):
            raise ValueError("invalid_characters must be raw or reference")
        service.options.invalid_characters = body["invalid_characters"]
    if "empty_read_status" in body:
        if int(body["empty_read_status"]) not in (0, 601):
            raise ValueError("empty_read_status must be 0 or 601")
        service.options.empty_read_status = int(body["empty_read_status"])
    if "corrupt" in body:  # a list of {type, id, field, date: {year, month, ...} | text}; [] clears
        corrupt: dict[tuple[str, str, str], dict[str, str] | str] = {}
        for item in body["corrupt"] or []:
            value = item["date"] if "date" in item else str(item.get("text", ""))
            if isinstance(value, dict):
                value = {str(k): str(v) for k, v in value.items()}
            corrupt[(str(item["type"]), str(item["id"]), str(item["field"]))] = value
        service.options.corrupt = corrupt
    return {
        "rate_per_minute": service.limiter.per_minute,
        "rate_per_day": service.limiter.per_day,
        "latency_ms": service.latency_ms,
        "filter_boundary": service.options.filter_boundary,
        "empty_read_status": service.options.empty_read_status,
        "invalid_characters": service.options.invalid_characters,
        "instant_offsets": service.options.instant_offsets,
        "corrupt": [
            {"type": t, "id": i, "field": f, **({"date": v} if isinstance(v, dict) else {"text": v})}
            for (t, i, f), v in service.options.corrupt.items()
        ],
    }


def _records(service: Service, method: str, type_name: str, record_id: str | None, body: dict[str, Any]) -> Reply:
    if type_name not in FIELDS:
        return 404, {"error": f"unknown type {type_name}"}
    store = service.store
    with store.lock:
        if method == "GET" and record_id is None:
            return 200, [store.to_json(r) for r in store.rows(type_name, deleted=False, include_nondeleted=False)]
        if method == "GET" and record_id is not None:
            return 200, store.to_json(store.get(type_name, record_id))
        if method == "POST" and record_id is None:
            return 201, store.to_json(store.add(type_name, body))
        if method == "PATCH" and record_id is not None:
            return 200, store.to_json(store.modify(type_name, record_id, body))
        if method == "DELETE" and record_id is not None:
            return 200, store.to_json(store.delete(type_name, record_id))
    return 405, {"error": f"{method} not allowed here"}
