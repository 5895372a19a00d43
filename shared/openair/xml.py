"""Request envelopes out, response elements in.

A hostile response (a DTD, entity declarations, external references: billion laughs, XXE) is refused with
an OpenAirProtocolError before anything is expanded or fetched; a body that does not parse at all is a
retryable protocol error, because a truncated response passes on the next try.

Parsing: entity declarations and external references can only come from a DTD, and a DTD only from a
`<!DOCTYPE` declaration. A body read as UTF-8 that holds no `<!DOCTYPE` bytes therefore has none, and goes to
the standard library's C parser (expat building the tree in C: about 2.5× faster than defusedxml, whose parser
is the pure-Python one it can hook). Any other body (one that holds those bytes, even inside a comment, or
declares another encoding, in which the bytes could spell it differently) goes through defusedxml with DTDs,
entities and external references forbidden, as every body did before.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, XMLParser, tostring
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from shared.openair import characters
from shared.openair.dates import date_element, read_date
from shared.openair.errors import OpenAirProtocolError

Raw = dict[str, Any]
"""One record as read: field name → str, date/datetime/None (from `<Date>`), or nested dict/list."""

API_VERSION = "1.0"


@dataclass(frozen=True)
class Command:
    """One command of a request: its element (`Read`, `Add`…) and a label for messages (`Read Booking`)."""

    element: Element
    label: str


@dataclass(frozen=True)
class Envelope:
    client: str
    client_version: str
    namespace: str
    key: str
    login: Mapping[str, str]  # company/user/password, or access_token
    commands: Sequence[Command] = field(default_factory=tuple)


def build_request(envelope: Envelope) -> bytes:
    """The `<request>` document: Auth first, then the commands in order."""
    root = Element(
        "request",
        {
            "API_version": API_VERSION,
            "client": envelope.client,
            "client_ver": envelope.client_version,
            "namespace": envelope.namespace,
            "key": envelope.key,
        },
    )
    login = SubElement(SubElement(root, "Auth"), "Login")
    for name, value in envelope.login.items():
        SubElement(login, name).text = value
    for command in envelope.commands:
        root.append(command.element)
    # Markup is ASCII we wrote, so dropping what XML 1.0 cannot carry from the whole document drops it from every
    # text and attribute value, whoever built it (`characters` says why), in one pass.
    document: str = characters.xml_text(tostring(root, encoding="unicode", xml_declaration=False))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + document.encode("utf-8")


def object_element(type_name: str, fields: Mapping[str, Any], *, zone: ZoneInfo | None = None) -> Element:
    """`<Booking><id>7</id>…</Booking>` from OpenAir field names; dates become `<Date>`, None an empty element."""
    element = Element(type_name)
    for name, value in fields.items():
        _append_value(element, name, value, zone)
    return element


def _append_value(parent: Element, name: str, value: Any, zone: ZoneInfo | None) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _append_value(parent, name, item, zone)
        return
    child = SubElement(parent, name)
    if isinstance(value, dt.date):  # datetime is a date too
        date_element(child, value, zone=zone)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _append_value(child, str(key), inner, zone)
    elif isinstance(value, bool):
        child.text = "1" if value else "0"
    elif isinstance(value, float):
        child.text = f"{value:.10g}"
    elif value is not None:
        child.text = str(value)


def parse_document(body: bytes, label: str) -> Element:
    """The root element of an XML body, refusing DTDs, entities and external references."""
    root, _ = _parse(body, label)
    return root


def _parse(body: bytes, label: str) -> tuple[Element, bool]:
    """The root element, and whether characters XML 1.0 does not allow had to be replaced to parse it."""
    try:
        return _parse_once(body, label), False
    except ParseError as exc:
        repaired, count = characters.repair(body)
        if count:
            try:
                return _parse_once(repaired, label), True
            except ParseError:
                pass  # not (only) bad characters: report the original error
        raise OpenAirProtocolError(0, label, f"response is not well-formed XML ({exc})", retryable=True) from None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a block builds many objects that form no cycle.

    A page of 1,000 bookings is ~50,000 elements, then as many dicts; each 700 new objects start a collection
    that walks every young object, and every tenth a wider one, finding nothing (an element tree has no parent
    links, a record is a dict of values). Measured on the planner at 100 × 100 bookings: parsing took 1.23 s of
    CPU with the collector running, 0.31 s held off. Left alone when someone else turned it off already.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse_once(body: bytes, label: str) -> Element:
    with collector_paused():
        return _parse_unpaused(body, label)


def _parse_unpaused(body: bytes, label: str) -> Element:
    root: Element
    if _without_dtd(body):
        # Forced to UTF-8, expat does not sniff another encoding from the bytes (UTF-16 without a byte order
        # mark), so a DOCTYPE could only be spelled in the bytes `_without_dtd` looked for.
        parser = XMLParser(encoding="utf-8")  # noqa: S314 - no DTD can reach it (see the module docstring)
        parser.feed(body)
        root = parser.close()
        _refuse_deep(root, label)
        return root
    try:
        root = safe_et.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise OpenAirProtocolError(
            0,
            label,
            f"refused hostile XML ({type(exc).__name__}: DTDs, entities and external references are not accepted)",
        ) from None
    except (ValueError, LookupError) as exc:
        # expat reads UTF-8, UTF-16 (with a byte order mark or declared as "UTF-16"), Latin-1 and ASCII; a body
        # declaring another encoding ("utf-16-le", an unknown name) makes it raise these, not a ParseError.
        raise OpenAirProtocolError(0, label, f"response declares an encoding XML cannot be read in ({exc})") from None
    _refuse_deep(root, label)
    return root


_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")
_UTF8_NAMES = frozenset({b"utf-8", b"utf8"})


def _without_dtd(body: bytes) -> bool:
    """Whether `body` is UTF-8 (no declaration, or one naming UTF-8) and holds no DOCTYPE declaration."""
    head = body[3:] if body.startswith(_BYTE_ORDER_MARK) else body
    if not head.startswith(b"<") or b"\x00" in head[:4]:
        return False  # UTF-16/32, or leading text: defusedxml reads (or refuses) it as before
    if head.startswith(b"<?xml"):
        end = head.find(b"?>")
        if end < 0:
            return False
        declared = _ENCODING.search(head, 0, end)
        if declared and declared.group(1).lower() not in _UTF8_NAMES:
            return False
    return b"<!DOCTYPE" not in body


MAX_DEPTH = 32  # OpenAir's answers nest about 7 deep (response/Read/record/field/Address/field/Date/part)


def _refuse_deep(root: Element, label: str) -> None:
    """Record fields are read recursively: a document nested absurdly deep is refused here, without recursing."""
    level = [root]
    for _ in range(MAX_DEPTH):
        level = [child for element in level for child in element]
        if not level:
            return
    raise OpenAirProtocolError(0, label, f"refused hostile XML (nested deeper than {MAX_DEPTH} elements)")


@dataclass(frozen=True)
class Reply:
    """One element of the response: its tag, status code and the element itself."""

    tag: str
    status: int
    element: Element
    # Records in this reply whose text held characters XML 1.0 does not allow (now U+FFFD): "Booking 7 (notes)".
    repaired: tuple[str, ...] = ()

    def text(self) -> str:
        """OpenAir's error text: `<errors>` children or the element's own text."""
        parts = [" ".join(e.itertext()).strip() for e in self.element.iter("errors")]
        parts = [p for p in parts if p] or [(self.element.text or "").strip()]
        return "; ".join(p for p in parts if p)


def parse_response(body: bytes, label: str) -> list[Reply]:
    """The `<response>` children in order (Auth first when present). A root-level non-zero status (OpenAir's
    answer to a request it could not parse) is returned as a single Reply tagged `response`."""
    root, repaired = _parse(body, label)
    if root.tag != "response":
        raise OpenAirProtocolError(0, label, f"expected <response>, got <{root.tag}>")
    if root.get("status") not in (None, "", "0") and len(root) == 0:
        return [Reply("response", _status(root, label), root)]
    return [Reply(child.tag, _status(child, label), child, _repaired(child) if repaired else ()) for child in root]


def _repaired(reply: Element) -> tuple[str, ...]:
    """The records of a reply that hold a replaced character, by type, id and field."""
    out = []
    for record in reply:
        fields = sorted({field.tag for field in record if any(characters.REPLACEMENT in t for t in field.itertext())})
        if fields:
            out.append(f"{record.tag} {(record.findtext('id') or '?').strip()} ({', '.join(fields)})")
    return tuple(out)


def _status(element: Element, label: str) -> int:
    value = (element.get("status") or "0").strip()
    try:
        return int(value)
    except ValueError:
        raise OpenAirProtocolError(0, label, f"<{element.tag}> has a non-numeric status {value!r}") from None


def record_from_element(element: Element, label: str) -> Raw:
    """One object element as a dict of its fields (see `Raw`)."""
    out: Raw = {}
    for child in element:
        _merge(out, child.tag, _value(child, label))
    return out


def records(element: Element, type_name: str, label: str) -> list[Raw]:
    """The `<type_name>` children of a command's reply, as raw records."""
    with collector_paused():
        return [record_from_element(child, label) for child in element if child.tag == type_name]


@dataclass(frozen=True)
class Unreadable:
    """One record of a read that could not be read (a field OpenAir sent that is not a value of its kind: an
    impossible `<Date>`, a number that is not one). It is left out of what the read returns and named instead:
    type, id and user when they can be read, and which field is wrong and how. `deleted` when it came from a
    deleted-records read."""

    type: str
    id: str
    user_id: str
    problem: str
    deleted: bool = False

    def __str__(self) -> str:
        gone = "deleted " if self.deleted else ""
        return f"OpenAir {gone}{self.type} {self.id or '?'} (user {self.user_id or '?'}) cannot be read: {self.problem}"


def records_each(
    element: Element, type_name: str, label: str, *, deleted: bool = False
) -> tuple[list[Raw], list[Unreadable]]:
    """The `<type_name>` children read one by one: a record that cannot be read is named in the second list and
    the rest are read. The envelope was parsed already; only values inside a record are forgiven here."""
    rows: list[Raw] = []
    bad: list[Unreadable] = []
    with collector_paused():
        for child in element:
            if child.tag != type_name:
                continue
            try:
                rows.append(record_from_element(child, label))
            except OpenAirProtocolError as exc:
                bad.append(
                    Unreadable(type_name, _plain(child, "id"), _plain(child, "userid"), exc.openair_message, deleted)
                )
    return rows, bad


def _plain(record: Element, name: str) -> str:
    """A plain-text field of a record element, or "" when it is absent or not plain text."""
    field = record.find(name)
    if field is None or len(field):
        return ""
    return (field.text or "").strip()


def _merge(out: Raw, key: str, value: Any) -> None:
    if key not in out:
        out[key] = value
    elif isinstance(out[key], list):
        out[key].append(value)
    else:
        out[key] = [out[key], value]


def _value(element: Element, label: str) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    if len(children) == 1 and children[0].tag == "Date":
        try:
            return read_date(children[0])
        except ValueError as exc:
            raise OpenAirProtocolError(0, label, f"field {element.tag}: invalid <Date> ({exc})") from None
    return record_from_element(element, label)


def read_command(
    type_name: str,
    *,
    method: str,
    limit: str,
    attributes: Mapping[str, str],
    query: Mapping[str, Any] | None,
    dates: Iterable[dt.datetime | dt.date],
    return_fields: Sequence[str] | None,
    zone: ZoneInfo,
) -> Element:
    """A `<Read>` element: query object, filter dates in filter order, then `<_Return>`."""
    element = Element("Read", {"type": type_name, "method": method, "limit": limit, **attributes})
    if query:
        element.append(object_element(type_name, query, zone=zone))
    for value in dates:
        date_element(element, value, zone=zone)
    if return_fields:
        returned = SubElement(element, "_Return")
        for name in return_fields:
            SubElement(returned, name)
    return element
