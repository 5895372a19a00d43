"""Who is synced: each OpenAir user, the mailbox their work goes to and their own choices (the UserMappings table),
and the problems found in rows an administrator typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.domain.settings import ImportDetail
from shared.kinds import RecordKind


@dataclass(frozen=True)
class RowProblem:
    table: str
    row_key: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.table} row '{self.row_key}': column {self.column} {self.message}"


class MappedBy(StrEnum):
    EMAIL = "Email"
    ALIAS = "Alias"
    MANUAL = "Manual"


@dataclass(frozen=True)
class UserMapping:
    """One OpenAir user and the mailbox their work goes to. RowKey = OpenAir user id."""

    openair_user_id: str
    mailbox: str  # SMTP address or UPN the admin (or the refresh) chose
    mailbox_id: str  # Graph user id, written by the product when the mailbox is resolved
    mapped_by: MappedBy
    export_kinds: frozenset[RecordKind]
    import_events: bool
    time_zone: str | None  # per-user override (IANA or Windows name)
    name: str = ""
    email: str = ""
    openair_time_zone: str = ""  # written by the product from the OpenAir user record
    mailbox_time_zone: str = ""  # written by the product from the mailbox settings
    # Per-user import choices; None = IntegrationSettings decide, `ANY` (categories, show as, tag) = no filter.
    import_categories: tuple[str, ...] | None = None
    import_show_as: tuple[str, ...] | None = None
    import_subject_tag: str | None = None
    import_detail: ImportDetail | None = None

    def exports(self, kind: RecordKind) -> bool:
        return kind in self.export_kinds


@dataclass(frozen=True)
class Mappings:
    users: dict[str, UserMapping]  # by OpenAir user id; only valid rows with a mailbox
    unmapped: dict[str, UserMapping]  # valid rows without a mailbox yet
    problems: tuple[RowProblem, ...]
