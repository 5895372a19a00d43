"""Three-way, field-level merge of an Outlook event and an OpenAir booking against the last synced values.

Per field: changed on one side only → that side's value; changed on both sides to the same value → no
conflict; changed on both sides to different values → a conflict, resolved by `ConflictResolution`.

Start, end and all-day are merged field by field too, but a merged range must still be a range either side
could have had: ending after it starts, and midnight to midnight when all-day. If the per-field result is not
(Outlook moved the meeting to the afternoon while OpenAir moved its end), the three are resolved together, as one
conflict, by the same setting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from shared.domain.settings import ConflictResolution

WHEN = ("start", "end", "is_all_day")
FIELDS = (*WHEN, "notes")


@dataclass(frozen=True)
class MergeResult:
    values: dict[str, str]
    from_outlook: tuple[str, ...] = ()  # fields whose Outlook value was taken
    conflicts: tuple[str, ...] = ()  # fields changed on both sides to different values


def merge(
    base: Mapping[str, str],
    outlook: Mapping[str, str],
    openair: Mapping[str, str],
    policy: ConflictResolution,
) -> MergeResult:
    """Merge the fields the base knows; anything else keeps OpenAir's value."""
    values = dict(openair)
    taken: list[str] = []
    conflicts: list[str] = []
    for name in FIELDS:
        if name not in base or name not in outlook:
            continue
        if outlook[name] == base[name] or outlook[name] == openair.get(name):
            continue
        if openair.get(name) != base[name]:
            conflicts.append(name)
            if policy is ConflictResolution.OPENAIR_WINS:
                continue
        values[name] = outlook[name]
        taken.append(name)
    if not _valid_range(values):
        winner = openair if policy is ConflictResolution.OPENAIR_WINS else outlook
        for name in WHEN:
            if name in winner:
                values[name] = winner[name]
        taken = [n for n in taken if n not in WHEN]
        if winner is outlook:
            taken.extend(n for n in WHEN if outlook.get(n) != openair.get(n))
        conflicts = [n for n in conflicts if n not in WHEN] + ["when"]
    return MergeResult(values, tuple(taken), tuple(conflicts))


def _valid_range(values: Mapping[str, str]) -> bool:
    if "start" not in values or "end" not in values:
        return True
    start, end = dt.datetime.fromisoformat(values["start"]), dt.datetime.fromisoformat(values["end"])
    if values.get("is_all_day") == "true" and (start.time() != dt.time(0) or end.time() != dt.time(0)):
        return False
    return end > start
