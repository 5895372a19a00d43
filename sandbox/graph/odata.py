"""The slice of OData query syntax Graph accepts on calendar endpoints: `$filter`, `$select`, `$expand`, `$top`.

Only what a calendar sync needs is understood; anything else is refused the way Graph refuses an invalid query
(400), never silently ignored, so a client bug shows up here rather than in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.graph.errors import GraphError, bad_request

_EXT_ID = re.compile(r"^\s*(\w+)\s+\{([0-9a-fA-F-]{36})\}\s+(Name|Id)\s+(.+?)\s*$", re.IGNORECASE)
_QUOTED = r"'((?:[^']|'')*)'"
_ANY = re.compile(
    r"^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*(.+)\)$",
    re.IGNORECASE | re.DOTALL,
)
_EXPAND_EXT = re.compile(
    r"^singleValueExtendedProperties(?:\(\s*\$filter\s*=\s*id\s+eq\s+" + _QUOTED + r"\s*\))?$", re.IGNORECASE
)
_EQ = re.compile(r"^([\w/]+)\s+eq\s+" + _QUOTED + r"$", re.IGNORECASE | re.DOTALL)


def ext_key(prop_id: str) -> str:
    """Normalised extended-property id: type and GUID compare case-insensitively, the name case-sensitively."""
    match = _EXT_ID.match(prop_id)
    if match is None:
        raise GraphError(400, "ErrorInvalidProperty", f"The extended property id '{prop_id}' is not valid.")
    kind, guid, how, name = match.groups()
    if how.lower() == "id":
        name = name.lower()  # numeric ids (0x8005) are not names: case does not matter
    return f"{kind.lower()} {{{guid.lower()}}} {how.lower()} {name}"


def _unquote(text: str) -> str:
    return text.replace("''", "'")


def _split_and(text: str) -> list[str]:
    """Split on top-level ` and ` (outside quotes and parentheses)."""
    parts, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and text[i : i + 5].lower() == " and ":
            parts.append(text[start:i].strip())
            start = i + 5
            i += 4
        i += 1
    parts.append(text[start:].strip())
    return parts


def _invalid_filter() -> GraphError:
    return GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")


Predicate = Callable[[dict[str, Any], dict[str, tuple[str, str]]], bool]


def parse_event_filter(text: str) -> Predicate:
    """A predicate over (rendered event in UTC, extended properties) for an events `$filter`."""
    tests: list[Predicate] = []
    for clause in _split_and(text.strip()):
        while clause.startswith("(") and clause.endswith(")"):
            clause = clause[1:-1].strip()
        if (any_match := _ANY.match(clause)) is not None:
            var, inner = any_match.groups()
            wanted_id: str | None = None
            wanted_value: str | None = None
            for part in _split_and(inner.strip()):
                eq = _EQ.match(part)
                if eq is None:
                    raise _invalid_filter()
                path, value = eq.group(1), _unquote(eq.group(2))
                if path.lower() == f"{var.lower()}/id":
                    wanted_id = ext_key(value)
                elif path.lower() == f"{var.lower()}/value":
                    wanted_value = value
                else:
                    raise _invalid_filter()
            if wanted_id is None:
                raise _invalid_filter()
            tests.append(_ext_test(wanted_id, wanted_value))
        elif (eq := _EQ.match(clause)) is not None:
            tests.append(_field_test(eq.group(1).split("/"), _unquote(eq.group(2))))
        else:
            raise _invalid_filter()
    return lambda event, ext: all(test(event, ext) for test in tests)


def _ext_test(wanted_id: str, wanted_value: str | None) -> Predicate:
    def test(event: dict[str, Any], ext: dict[str, tuple[str, str]]) -> bool:
        found = ext.get(wanted_id)
        return found is not None and (wanted_value is None or found[1] == wanted_value)

    return test


def _field_test(path: list[str], value: str) -> Predicate:
    def test(event: dict[str, Any], ext: dict[str, tuple[str, str]]) -> bool:
        node: Any = event
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        return isinstance(node, str | bool | int) and str(node).lower() == value.lower()

    return test


@dataclass(frozen=True)
class Expand:
    """`$expand=singleValueExtendedProperties(...)`: None = not expanded; empty filter set = all of them."""

    ext_ids: frozenset[str] | None


def parse_expand(text: str | None) -> Expand:
    if not text:
        return Expand(None)
    ids: set[str] = set()
    for part in text.split(","):
        match = _EXPAND_EXT.match(part.strip())
        if match is None:
            raise bad_request(
                f"Could not find a property named '{part.strip()}' on type 'microsoft.graph.event'.",
                "RequestBroker--ParseUri",
            )
        if match.group(1) is not None:
            ids.add(ext_key(_unquote(match.group(1))))
    return Expand(frozenset(ids))


def parse_select(text: str | None) -> set[str] | None:
    if not text:
        return None
    return {part.strip() for part in text.split(",") if part.strip()}


def parse_top(text: str | None, default: int, maximum: int = 1000) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise bad_request(f"Invalid value '{text}' for $top query option.", "BadRequest") from exc
    if value < 1 or value > maximum:
        raise bad_request(f"Invalid value '{text}' for $top query option.", "BadRequest")
    return value
