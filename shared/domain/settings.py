"""The product's policy: what administrators choose in the IntegrationSettings and BookingTypeShowAs tables, as the
engine reads it. How rows of those tables become these values (and what a bad value reports) is
`shared/store/admin.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.kinds import KINDS, RecordKind


class ShowAsChoice(StrEnum):
    FREE = "Set event time as free"
    TENTATIVE = "Set event time as tentative"
    BUSY = "Set event time as busy"
    OUT_OF_OFFICE = "Set event time as out of office"
    DO_NOT_EXPORT = "Do not export"


class WhenRemoved(StrEnum):
    REMOVE_EVENT = "Remove event"
    KEEP_EVENT = "Keep event"


class ConflictResolution(StrEnum):
    OPENAIR_WINS = "OpenAir wins"
    EXCHANGE_WINS = "Exchange wins"


class ImportDetail(StrEnum):
    """How much of an Outlook event an imported booking carries."""

    FULL = "Full"  # times, and the subject as the booking's notes
    AVAILABILITY_ONLY = "Availability only"  # times and Show As only: never a subject or a body


# Graph's categoryColor presets (https://learn.microsoft.com/graph/api/resources/outlookcategory): the name an
# administrator sees in Outlook, for the constant Graph stores. Either may be written in IntegrationSettings.
CATEGORY_COLORS: dict[str, str] = {
    "None": "none", "Red": "preset0", "Orange": "preset1", "Brown": "preset2", "Yellow": "preset3",
    "Green": "preset4", "Teal": "preset5", "Olive": "preset6", "Blue": "preset7", "Purple": "preset8",
    "Cranberry": "preset9", "Steel": "preset10", "DarkSteel": "preset11", "Gray": "preset12",
    "DarkGray": "preset13", "Black": "preset14", "DarkRed": "preset15", "DarkOrange": "preset16",
    "DarkBrown": "preset17", "DarkYellow": "preset18", "DarkGreen": "preset19", "DarkTeal": "preset20",
    "DarkOlive": "preset21", "DarkBlue": "preset22", "DarkPurple": "preset23", "DarkCranberry": "preset24",
}  # fmt: skip
# Show As values an import filter may list (Graph's freeBusyStatus, less `unknown`).
IMPORT_SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere")
ANY = "*"  # in a UserMappings filter column: no filter for this user, whatever IntegrationSettings say


class OutlookDeletion(StrEnum):
    IGNORE = "Ignore"
    DELETE_BOOKINGS_FROM_OUTLOOK = "Delete bookings created from Outlook"
    DELETE_ANY_BOOKING = "Delete booking regardless of origin"
    CHANGE_BOOKING_TYPE = "Change booking type"


AUTO_REPLY_FIELDS = ("name", "first_day", "last_day", "return_day")
DEFAULT_AUTO_REPLY = (
    "I am out of the office from {first_day} to {last_day} and will reply when I am back on {return_day}."
)


@dataclass(frozen=True)
class IntegrationSettings:
    export_after: dt.date | None = None
    export_booking_notes_as_is: bool = False
    on_record_deleted: WhenRemoved = WhenRemoved.REMOVE_EVENT
    on_record_out_of_scope: WhenRemoved = WhenRemoved.REMOVE_EVENT
    on_user_out_of_scope: WhenRemoved = WhenRemoved.KEEP_EVENT
    max_deletions_per_run: int = 200
    max_import_deletions_per_pass: int = 50
    watermark_overlap_minutes: int = 10
    default_time_zone: str = "UTC"
    # Per record type (`KindSpec.new_users_setting`): the switch users mapped automatically get.
    new_users_export: Mapping[RecordKind, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, True))
    new_users_import: bool = False
    import_enabled: bool = False
    sync_events_after: dt.date | None = None
    conflict_resolution: ConflictResolution = ConflictResolution.OPENAIR_WINS
    default_booking_type_id: str = ""
    default_project_id: str = ""
    import_private_events: bool = False
    skip_free_events: bool = True
    on_outlook_deletion: OutlookDeletion = OutlookDeletion.IGNORE
    deleted_booking_type_id: str = ""
    window_past_days: int = 30
    window_future_days: int = 180
    report_recipients: str = ""
    report_sender: str = ""
    report_when: str = "Never"
    import_categories: tuple[str, ...] = ()
    import_show_as: tuple[str, ...] = ()
    import_subject_tag: str = ""
    import_detail: ImportDetail = ImportDetail.FULL
    export_category: str = ""
    export_category_color: str = "preset7"
    # Per record type (`KindSpec.reminder_setting`): whether its events have an Outlook reminder.
    reminders: Mapping[RecordKind, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, False))
    export_window_past_days: int | None = None
    export_window_future_days: int | None = None
    incumbent_events_in_mailboxes: bool = False
    paused: bool = False
    auto_replies_for_time_off: bool = False
    auto_reply_internal_message: str = DEFAULT_AUTO_REPLY
    auto_reply_external_message: str = DEFAULT_AUTO_REPLY
    conflict_report: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PauseState:
    """The `Paused` row: the incumbent's Stop Engine. Who and why are kept beside the switch for `status`."""

    since: dt.datetime | None
    by: str
    reason: str
