"""The record types the simulator serves: their standard fields and which of them are `<Date>` values.

Any other key found in seed records (e.g. BookingType `calendar_export_type`, User `exchDefault_project`)
is a custom field: it is served as `name__c` with `enable_custom="1"` and written as `name__c`.
"""

from __future__ import annotations

COMMON = ("id", "created", "updated")
INSTANTS = frozenset({"created", "updated"})
READ_ONLY = frozenset({"id", "created", "updated"})

FIELDS: dict[str, tuple[str, ...]] = {
    "User": ("name", "nickname", "active", "timezone", "addr", "email"),
    "Customer": ("name", "company", "active"),
    "Project": ("name", "customerid", "active"),
    "Projecttask": (
        "projectid",
        "name",
        "id_number",
        "starts",
        "fnlt_date",
        "planned_hours",
        "is_a_phase",
        "closed",
        "parentid",
    ),
    "Projecttaskassign": ("projecttaskid", "userid", "planned_hours", "allocation", "booking_id"),
    "BookingType": ("name", "active", "priority", "notes"),
    "Booking": (
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
    ),
    "Timetype": ("name", "active"),
    "Schedulerequest": (
        "userid",
        "startdate",
        "enddate",
        "date",
        "description",
        "notes",
        "name",
        "number",
        "prefix",
        "approval_status",
        "timetypeid",
        "projectid",
        "customerid",
    ),
    "Schedulerequest_item": ("schedule_requestid", "date", "hours", "userid", "timetypeid"),
}

# Standard fields carried as <Date> (created/updated are added for every type).
DATE_FIELDS: dict[str, frozenset[str]] = {
    "Booking": frozenset({"startdate", "enddate", "starttime", "endtime"}),
    "Projecttask": frozenset({"starts", "fnlt_date"}),
    "Schedulerequest": frozenset({"startdate", "enddate", "date"}),
    "Schedulerequest_item": frozenset({"date"}),
}

# The reference lists Schedulerequest_item as Read/Modify/Delete only.
NO_ADD = frozenset({"Schedulerequest_item"})


def standard_fields(type_name: str) -> frozenset[str]:
    return frozenset(COMMON + FIELDS[type_name])


def date_fields(type_name: str) -> frozenset[str]:
    return DATE_FIELDS.get(type_name, frozenset()) | INSTANTS
