"""The XML API commands the simulator executes, each turning a request element into its reply element.

A failing command answers its own status (`<Add status="602"><errors>…</errors></Add>`) and changes
nothing: objects of one write command are validated before any is applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, SubElement

from sandbox.openair.auth import Account, RateLimiter
from sandbox.openair.read import Options, parse_limit, read
from sandbox.openair.schema import FIELDS, NO_ADD, date_fields
from sandbox.openair.store import Store, StoreError
from sandbox.openair.tokens import FilterSetCache
from sandbox.openair.wire import WireError, date_xml, object_fields, read_date, record_xml


@dataclass
class Context:
    store: Store
    account: Account
    options: Options
    token: str | None = None  # logged in with this access token (its filter-set cache applies to reads)
    tokens: FilterSetCache | None = None
    limiter: RateLimiter | None = None


def execute(command: Element, ctx: Context) -> Element:
    """The reply to one command; failures become the command's status, never an exception."""
    handler = HANDLERS.get(command.tag)
    if handler is None:
        return failed(command.tag, 5, f"unknown command {command.tag}")
    try:
        with ctx.store.lock:
            return handler(command, ctx)
    except (StoreError, WireError) as exc:
        return failed(command.tag, exc.code, exc.message)


def failed(tag: str, code: int, message: str) -> Element:
    reply = Element(tag, {"status": str(code)})
    SubElement(reply, "errors").text = message
    return reply


def label(command: Element) -> str:
    """`Read Booking`, `Add Booking`, `Whoami` — the key of the per-command request counts."""
    return f"{command.tag} {command.get('type')}" if command.get("type") else command.tag


def _type(command: Element) -> str:
    type_name = command.get("type", "")
    if type_name not in FIELDS:
        raise StoreError(603, f"invalid type {type_name!r}")
    return type_name


def _objects(command: Element, type_name: str, ctx: Context) -> list[dict[str, Any]]:
    objects = [
        object_fields(child, date_fields(type_name), ctx.store.zone) for child in command if child.tag == type_name
    ]
    if len(objects) > 1000:
        raise StoreError(605, "more than 1000 objects in one command")
    if command.get("enable_custom") != "1":  # Oracle: inline custom fields are written only with enable_custom="1"
        custom = sorted({name for fields in objects for name in fields
                         if name.endswith("__c") or name in ctx.store.custom[type_name]})  # fmt: skip
        if custom:
            raise StoreError(602, f'custom field(s) {", ".join(custom)} need enable_custom="1" on {command.tag}')
    for fields in objects:
        ctx.store.check_fields(type_name, fields)
    return objects


def _render(type_name: str, record: dict[str, Any], ctx: Context) -> Element:
    store = ctx.store
    fields = [
        "id",
        "created",
        "updated",
        *[f for f in FIELDS[type_name] if f in record],
        *sorted(store.custom[type_name]),
    ]
    return record_xml(
        type_name,
        record,
        fields=[f for f in fields if f in record],
        date_names=date_fields(type_name),
        custom=store.custom[type_name],
        zone=store.zone,
        offset_shown=ctx.options.instant_offsets,
    )


def _add(command: Element, ctx: Context) -> Element:
    type_name = _type(command)
    if type_name in NO_ADD:
        raise StoreError(603, f"Add is not supported for {type_name}")
    objects = _objects(command, type_name, ctx)
    lookup = command.get("lookup")
    targets: list[str | None] = []
    for fields in objects:
        if lookup:
            if lookup != "externalid":
                raise StoreError(602, f"invalid lookup field {lookup!r}")
            key = str(fields.get("externalid") or "")
            matches = ctx.store.find(type_name, "externalid", key) if key else []
            if len(matches) > 1:  # unconfirmed: the reference only says "updates on one match"
                raise StoreError(1, f"lookup externalid={key!r} matches {len(matches)} records")
            targets.append(matches[0]["id"] if matches else None)
        else:
            targets.append(None)
    stamp = ctx.store.tick()
    reply = Element("Add", {"status": "0"})
    for fields, target in zip(objects, targets, strict=True):
        if target is None:
            record = ctx.store.add(type_name, fields, stamp)
        else:
            record = ctx.store.modify(type_name, target, fields, stamp)
        reply.append(_render(type_name, record, ctx))
    return reply


def _modify(command: Element, ctx: Context) -> Element:
    type_name = _type(command)
    objects = _objects(command, type_name, ctx)
    ids = [_id_of(fields, ctx, type_name) for fields in objects]
    stamp = ctx.store.tick()
    reply = Element("Modify", {"status": "0"})
    for fields, record_id in zip(objects, ids, strict=True):
        reply.append(_render(type_name, ctx.store.modify(type_name, record_id, fields, stamp), ctx))
    return reply


def _id_of(fields: dict[str, Any], ctx: Context, type_name: str) -> str:
    record_id = str(fields.get("id") or "").strip()
    if not record_id:
        raise StoreError(601, f"{type_name} without id")
    ctx.store.get(type_name, record_id)
    return record_id


def _modify_on_condition(command: Element, ctx: Context) -> Element:
    type_name = _type(command)
    if command.get("condition") != "if-not-updated":
        raise StoreError(603, f"unknown condition {command.get('condition')!r}")
    objects = _objects(command, type_name, ctx)
    date = command.find("Date")
    if len(objects) != 1 or date is None:
        raise StoreError(602, "ModifyOnCondition takes one object and a <Date>")
    when = read_date(date, ctx.store.zone)
    if when is None:
        raise StoreError(602, "empty <Date>")
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time())
    since = when if when.tzinfo else when.replace(tzinfo=ctx.store.zone)
    record_id = _id_of(objects[0], ctx, type_name)
    if ctx.store.get(type_name, record_id)["updated"] > since:
        raise StoreError(1200, f"{type_name} {record_id} was updated after the given date")
    reply = Element("ModifyOnCondition", {"status": "0"})
    reply.append(_render(type_name, ctx.store.modify(type_name, record_id, objects[0]), ctx))
    return reply


def _delete(command: Element, ctx: Context) -> Element:
    type_name = _type(command)
    objects = [child for child in command if child.tag == type_name]
    ids = [(child.findtext("id") or "").strip() for child in objects]
    for record_id in ids:
        ctx.store.get(type_name, record_id)  # 601 before anything is deleted
    stamp = ctx.store.tick()
    reply = Element("Delete", {"status": "0"})
    for record_id in ids:
        ctx.store.delete(type_name, record_id, stamp)
        SubElement(SubElement(reply, type_name), "id").text = record_id
    return reply


def _whoami(command: Element, ctx: Context) -> Element:
    users = ctx.store.find("User", "nickname", ctx.account.user)
    # The sample's API user is not one of the consultants: describe it the way a User record would.
    record = users[0] if users else {"id": "1", "nickname": ctx.account.user, "name": ctx.account.user, "active": "1"}
    if "created" not in record:  # a fixed stamp: asking who you are must not move the `updated` clock
        epoch = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        record = {**record, "created": epoch, "updated": epoch}
    reply = Element("Whoami", {"status": "0"})
    reply.append(_render("User", record, ctx))
    return reply


def _time(command: Element, ctx: Context) -> Element:
    reply = Element("Time", {"status": "0"})
    # Oracle: "the current system timestamp from the SuiteProjects Pro servers" — here, like created/updated, the
    # company zone's wall clock.
    date_xml(reply, dt.datetime.now(dt.UTC), zone=ctx.store.zone, offset_shown=ctx.options.instant_offsets)
    return reply


def _rate_limit(command: Element, ctx: Context) -> Element:
    """`Read type="RateLimit"` (Oracle article_76114759800): requests left in the 24-hour window; `all` only."""
    if command.get("method") != "all":
        raise StoreError(603, "RateLimit supports the all read method only")
    offset, _count = parse_limit(command.get("limit"))
    if offset > 0:  # one object: a second page is empty
        return failed("Read", 601, "no results")
    remaining = ctx.limiter.remaining_today(ctx.account) if ctx.limiter is not None else None
    reply = Element("Read", {"status": "0"})
    SubElement(SubElement(reply, "RateLimit"), "remain_24h_error").text = "" if remaining is None else str(remaining)
    return reply


def _read(command: Element, ctx: Context) -> Element:
    if command.get("type") == "RateLimit":
        return _rate_limit(command, ctx)
    visible = None
    if ctx.token is not None and ctx.tokens is not None:
        if command.get("clear_filter_cache") == "1":
            ctx.tokens.refresh(ctx.token, ctx.store.tick())
        generated = ctx.tokens.generated(ctx.token)
        if generated is not None:  # objects created after the cache was generated are not in the filter set

            def visible(record: dict[str, Any]) -> bool:
                return bool(record["created"] <= generated)

    return read(command, ctx.store, ctx.options, lambda t, r: _render(t, r, ctx), visible)


HANDLERS: dict[str, Callable[[Element, Context], Element]] = {
    "Read": _read,
    "Add": _add,
    "Modify": _modify,
    "ModifyOnCondition": _modify_on_condition,
    "Delete": _delete,
    "Whoami": _whoami,
    "Time": _time,
}
