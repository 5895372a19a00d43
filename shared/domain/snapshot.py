"""What an export run reads before it decides, and what it writes once it has decided.

The planner reads the store before OpenAir for the tenant (`TenantSnapshot`: mappings, policy, watermarks, who has
been exported), after OpenAir for the records it sent (`UserRecords`: the links and pending outbox keys of each user
concerned, and who else holds a link for those records), and writes what it decided once (`PlanOutcome`).
Everything between is a pure decision over these values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.links import Link, OutboxEntry, UserState
from shared.domain.mappings import Mappings, RowProblem
from shared.domain.settings import IntegrationSettings, ShowAsChoice


@dataclass(frozen=True)
class TenantSnapshot:
    """The tenant as the store shows it at the start of a run (one read of each table, whatever the users)."""

    mappings: Mappings
    settings: IntegrationSettings
    show_as: Mapping[str, ShowAsChoice]
    problems: tuple[RowProblem, ...]  # rows of the admin tables that did not parse (skipped, reported)
    user_states: Mapping[str, UserState]
    watermarks: Mapping[str, Any]  # the OpenAir cursors, by name
    rendering: Mapping[str, Any]  # what the events were last dressed with (the Rendering cursors)
    replies: Mapping[str, Any]  # automatic replies the product set, by user (read only when the setting is on)
    skipped: Mapping[str, str]  # each mapping row's SkippedRecords column as stored (JSON), by user
    owner_index_built: bool


@dataclass(frozen=True)
class UserRecords:
    """One user's links (by record key) and the record keys their outbox still holds."""

    links: Mapping[str, Link]
    pending: frozenset[str]


@dataclass(frozen=True)
class PlanOutcome:
    """Everything an export plan writes, in the order it is written: the outbox first (the work), then what the
    mapping rows say, the users' exported kinds, and the watermarks last (a crash before them re-reads the same
    changes, and the outbox entries make that re-read cost nothing)."""

    outbox: Mapping[str, Sequence[OutboxEntry]]  # by user
    mapping_status: Mapping[str, Mapping[str, Any]]  # user -> product-written UserMappings columns
    user_states: Sequence[UserState]
    cursors: Mapping[str, Mapping[str, Any]]  # scope -> name -> value
