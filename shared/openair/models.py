"""Typed OpenAir records (frozen pydantic models), parsed from raw XML dicts with `from_raw`.

Ids are strings, empty values are None, created/updated are aware UTC. Booking start/end times stay naive
local wall-clock values: they are the user's times, and converting them would move events across DST.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.openair.fields import CUSTOM_SUFFIX, FieldReader

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class PulledIn:
    """A change of another type that changes how a record looks: a changed record of `type` pulls in the records
    whose `field` holds that record's `their` value (a moved task re-renders its assignments)."""

    type: str
    their: str
    field: str


@dataclass(frozen=True)
class Children:
    """Records of `type` that belong to one record (its `parent` field holds the record's id) and are read with it."""

    type: str
    parent: str


class Record(BaseModel):
    """Base of every OpenAir record: its OpenAir type name and how to parse/serialise it."""

    model_config = ConfigDict(frozen=True)

    TYPE: ClassVar[str]
    # Model attribute -> OpenAir field name on writes, where they differ (custom fields get `__c`).
    WRITE_NAMES: ClassVar[Mapping[str, str]] = {}
    # Attributes never sent: read-only everywhere, or derived.
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"created", "updated"})
    # The relations an exported type's event depends on (the OpenAir reads follow them; none by default): the
    # changes of other types that pull its records in again, and the child records read with each record.
    PULLED_IN_BY: ClassVar[tuple[PulledIn, ...]] = ()
    CHILDREN: ClassVar[tuple[Children, ...]] = ()

    id: str
    created: dt.datetime | None = None
    updated: dt.datetime | None = None

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any], zone: ZoneInfo = UTC_ZONE) -> Self:
        """Parse one raw record; an OpenAirProtocolError names the type, id and field of a bad value."""
        f = FieldReader(cls.TYPE, raw, zone)
        return cls(id=f.required("id"), created=f.instant("created"), updated=f.instant("updated"), **cls._parse(f))

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        raise NotImplementedError

    def refers_to(self) -> Mapping[str, str | None]:
        """The records of other types this record's event shows, by type name: their ids (read for rendering)."""
        return {}

    def to_fields(self, *, include_id: bool = True) -> dict[str, Any]:
        """The writable fields as OpenAir names (None values left out, so a Modify changes only what is set)."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if name in self.READ_ONLY or value is None or (name == "id" and not include_id):
                continue
            if name == "custom":
                out.update({f"{key}{CUSTOM_SUFFIX}": text for key, text in value.items()})
                continue
            out[self.WRITE_NAMES.get(name, name)] = value
        return out


class DeletedRecord(BaseModel):
    """A record a `deleted="1"` read reported: what it was and when it was deleted."""

    model_config = ConfigDict(frozen=True)

    type: str
    id: str
    updated: dt.datetime | None = None
    userid: str | None = None

    @classmethod
    def from_raw(cls, type_name: str, raw: Mapping[str, Any], zone: ZoneInfo = UTC_ZONE) -> DeletedRecord:
        f = FieldReader(type_name, raw, zone)
        return cls(type=type_name, id=f.required("id"), updated=f.instant("updated"), userid=f.text("userid"))


class User(Record):
    TYPE = "User"
    WRITE_NAMES = {
        "exch_default_booking_type": "exchDefault_booking_type" + CUSTOM_SUFFIX,
        "exch_default_project": "exchDefault_project" + CUSTOM_SUFFIX,
    }
    READ_ONLY = frozenset({"created", "updated", "email"})

    name: str | None = None
    nickname: str | None = None
    active: bool = True
    timezone: str | None = None
    email: str | None = None
    exch_default_booking_type: str | None = None
    exch_default_project: str | None = None

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {
            "name": f.text("name"),
            "nickname": f.text("nickname"),
            "active": f.flag("active", default=True),
            "timezone": f.text("timezone"),
            "email": _email(f),
            "exch_default_booking_type": f.text("exchDefault_booking_type"),
            "exch_default_project": f.text("exchDefault_project"),
        }


def _email(f: FieldReader) -> str | None:
    """addr → Address → email (OpenAir's shape), addr → email (seed files), or a top-level email."""
    addr = f.raw.get("addr")
    candidates: list[Any] = []
    if isinstance(addr, Mapping):
        address = addr.get("Address", addr)
        candidates.extend(address if isinstance(address, list) else [address])
    elif isinstance(addr, list):
        candidates.extend(addr)
    for candidate in candidates:
        if isinstance(candidate, Mapping) and isinstance(candidate.get("email"), str) and candidate["email"].strip():
            return str(candidate["email"]).strip()
    return f.text("email")


_BOOKING_FIELDS = frozenset(
    [
        "id",
        "created",
        "updated",
        "userid",
        "projectid",
        "project_taskid",
        "customerid",
        "booking_typeid",
        "startdate",
        "enddate",
        "starttime",
        "endtime",
        "hours",
        "percentage",
        "as_percentage",
        "notes",
        "approval_status",
        "externalid",
        "ownerid",
        "repeatid",
    ]
)


class Booking(Record):
    TYPE = "Booking"
    PULLED_IN_BY = (PulledIn("BookingType", their="id", field="booking_typeid"),)  # Show As comes from the type

    userid: str | None = None
    projectid: str | None = None
    project_taskid: str | None = None
    customerid: str | None = None
    booking_typeid: str | None = None
    startdate: dt.date
    enddate: dt.date
    starttime: dt.datetime | None = None
    endtime: dt.datetime | None = None
    hours: float | None = None
    percentage: float | None = None
    as_percentage: bool = False
    notes: str = ""
    approval_status: str = ""
    externalid: str = ""
    ownerid: str | None = None
    repeatid: str | None = None
    custom: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {
            **{n: f.text(n) for n in ("userid", "projectid", "project_taskid", "customerid", "booking_typeid")},
            "startdate": f.required_date("startdate"),
            "enddate": f.required_date("enddate"),
            "starttime": f.wall_clock("starttime"),
            "endtime": f.wall_clock("endtime"),
            "hours": f.number("hours"),
            "percentage": f.number("percentage"),
            "as_percentage": f.flag("as_percentage"),
            "notes": f.text("notes") or "",
            "approval_status": f.text("approval_status") or "",
            "externalid": f.text("externalid") or "",
            "ownerid": f.text("ownerid"),
            "repeatid": f.text("repeatid"),
            "custom": f.custom(_BOOKING_FIELDS),
        }

    def refers_to(self) -> Mapping[str, str | None]:
        return {"Projecttask": self.project_taskid, "Project": self.projectid, "Customer": self.customerid}


class BookingType(Record):
    TYPE = "BookingType"
    WRITE_NAMES = {"calendar_export_type": "calendar_export_type" + CUSTOM_SUFFIX}

    name: str | None = None
    active: bool = True
    priority: str | None = None
    notes: str = ""
    calendar_export_type: str | None = None

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {
            "name": f.text("name"),
            "active": f.flag("active", default=True),
            "priority": f.text("priority"),
            "notes": f.text("notes") or "",
            "calendar_export_type": f.text("calendar_export_type"),
        }


class Project(Record):
    TYPE = "Project"

    name: str | None = None
    customerid: str | None = None
    active: bool = True

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {"name": f.text("name"), "customerid": f.text("customerid"), "active": f.flag("active", default=True)}


class Customer(Record):
    TYPE = "Customer"

    name: str | None = None
    company: str | None = None
    active: bool = True

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {"name": f.text("name"), "company": f.text("company"), "active": f.flag("active", default=True)}


class Projecttask(Record):
    TYPE = "Projecttask"

    projectid: str | None = None
    name: str | None = None
    id_number: str | None = None
    starts: dt.date | None = None
    fnlt_date: dt.date | None = None
    planned_hours: float = 0.0
    is_a_phase: bool = False
    closed: bool = False
    parentid: str | None = None

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {
            "projectid": f.text("projectid"),
            "name": f.text("name"),
            "id_number": f.text("id_number"),
            "starts": f.date("starts"),
            "fnlt_date": f.date("fnlt_date"),
            "planned_hours": f.number("planned_hours") or 0.0,
            "is_a_phase": f.flag("is_a_phase"),
            "closed": f.flag("closed"),
            "parentid": f.text("parentid"),
        }


class Projecttaskassign(Record):
    TYPE = "Projecttaskassign"
    PULLED_IN_BY = (PulledIn("Projecttask", their="id", field="projecttaskid"),)  # the event spans the task's dates

    projecttaskid: str | None = None
    userid: str | None = None
    planned_hours: float = 0.0
    allocation: str | None = None
    booking_id: str | None = None

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {
            "projecttaskid": f.text("projecttaskid"),
            "userid": f.text("userid"),
            "planned_hours": f.number("planned_hours") or 0.0,
            "allocation": f.text("allocation"),
            "booking_id": f.text("booking_id"),
        }

    def refers_to(self) -> Mapping[str, str | None]:
        return {"Projecttask": self.projecttaskid}


class Schedulerequest(Record):
    TYPE = "Schedulerequest"
    # Its items hold the days and hours off: a changed item re-renders its request.
    PULLED_IN_BY = (PulledIn("Schedulerequest_item", their="schedule_requestid", field="id"),)
    CHILDREN = (Children("Schedulerequest_item", parent="schedule_requestid"),)

    userid: str | None = None
    startdate: dt.date | None = None
    enddate: dt.date | None = None
    date: dt.date | None = None
    description: str | None = None
    notes: str | None = None
    name: str | None = None
    number: str | None = None
    prefix: str | None = None
    approval_status: str | None = None
    timetypeid: str | None = None
    projectid: str | None = None
    customerid: str | None = None

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        texts = ("userid", "description", "notes", "name", "number", "prefix", "approval_status", "timetypeid")
        return {
            **{n: f.text(n) for n in (*texts, "projectid", "customerid")},
            **{n: f.date(n) for n in ("startdate", "enddate", "date")},
        }


class SchedulerequestItem(Record):
    TYPE = "Schedulerequest_item"

    schedule_requestid: str | None = None
    date: dt.date | None = None
    hours: float = 0.0
    userid: str | None = None
    timetypeid: str | None = None

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {
            "schedule_requestid": f.text("schedule_requestid"),
            "date": f.date("date"),
            "hours": f.number("hours") or 0.0,
            "userid": f.text("userid"),
            "timetypeid": f.text("timetypeid"),
        }


class Timetype(Record):
    TYPE = "Timetype"

    name: str | None = None
    active: bool = True

    @classmethod
    def _parse(cls, f: FieldReader) -> dict[str, Any]:
        return {"name": f.text("name"), "active": f.flag("active", default=True)}


RECORD_TYPES: dict[str, type[Record]] = {
    cls.TYPE: cls
    for cls in (
        User,
        Booking,
        BookingType,
        Project,
        Customer,
        Projecttask,
        Projecttaskassign,
        Schedulerequest,
        SchedulerequestItem,
        Timetype,
    )
}
