"""HTTP route templates, read as ASP.NET Core routing reads a function's `route`.

`{name}` one segment, `{name?}` an optional trailing segment, `{name:int}` a constrained segment (int,
long, bool, alpha, guid, double, float, decimal; other constraints accept any value), `{*rest}` the rest of
the path. Literals match case-insensitively. When several templates match, the most specific wins
(literal before constrained before plain parameter before optional before catch-all), as in ASP.NET.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote

T = TypeVar("T")

_PARAM = re.compile(r"\{(\*?)([^{}:?=*]+)(?::([^{}?]+))?(\?)?\}")
_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "alpha": r"[A-Za-z]+",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "double": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
}
_LITERAL, _COMPLEX, _CONSTRAINED, _PLAIN, _OPTIONAL, _CATCH_ALL = range(6)


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    precedence: tuple[int, ...]

    @classmethod
    def compile(cls, template: str) -> RouteTemplate:
        names: list[str] = []
        regex = ""
        precedence: list[int] = []
        for segment in [s for s in template.strip("/").split("/") if s]:
            whole = _PARAM.fullmatch(segment)
            if whole and (whole.group(1) or whole.group(4)):
                names.append(whole.group(2))
                group = f"g{len(names) - 1}"
                if whole.group(1):
                    regex += f"(?:/(?P<{group}>.*))?"
                    precedence.append(_CATCH_ALL)
                else:
                    regex += f"(?:/(?P<{group}>{_constraint(whole.group(3))}))?"
                    precedence.append(_OPTIONAL)
                continue
            parts, last = [], 0
            for match in _PARAM.finditer(segment):
                parts.append(re.escape(segment[last : match.start()]))
                names.append(match.group(2))
                parts.append(f"(?P<g{len(names) - 1}>{_constraint(match.group(3))})")
                last = match.end()
            parts.append(re.escape(segment[last:]))
            regex += "/" + "".join(parts)
            if whole:
                precedence.append(_CONSTRAINED if whole.group(3) else _PLAIN)
            else:
                precedence.append(_COMPLEX if last else _LITERAL)
        pattern = re.compile(regex, re.IGNORECASE)
        return cls(template, pattern, tuple(names), tuple(precedence))

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters if `path` (decoded, without the route prefix) matches; absent optionals are left out."""
        normalized = "/" + path.strip("/") if path.strip("/") else ""
        found = self.pattern.fullmatch(normalized)
        if not found:
            return None
        values = {name: found.group(f"g{i}") for i, name in enumerate(self.names)}
        return {name: value for name, value in values.items() if value is not None}


class RouteTable(Generic[T]):
    """Templates with their targets, tried most specific first."""

    def __init__(self) -> None:
        self._routes: list[tuple[RouteTemplate, T]] = []

    def add(self, template: str, target: T) -> None:
        self._routes.append((RouteTemplate.compile(template), target))
        self._routes.sort(key=lambda route: route[0].precedence)

    def match(self, raw_path: str) -> list[tuple[T, dict[str, str]]]:
        path = unquote(raw_path)
        matches = []
        for template, target in self._routes:
            params = template.match(path)
            if params is not None:
                matches.append((target, params))
        return matches


def _constraint(name: str | None) -> str:
    if name is None:
        return "[^/]+"
    return _CONSTRAINTS.get(name.split("(")[0].lower(), "[^/]+")
