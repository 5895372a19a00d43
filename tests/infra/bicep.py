"""Reading Bicep files through tree-sitter-bicep: the Bicep CLI cannot be installed here, so the template checks
work on the parse tree (declarations, object literals, string literals) instead of the compiled ARM JSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tree_sitter
import tree_sitter_bicep

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"

Node = tree_sitter.Node

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def parse_source(source: bytes) -> Node:
    return _PARSER.parse(source).root_node


def syntax_problems(root: Node) -> list[str]:
    """Every ERROR or MISSING node, as `line:col kind 'text'` (1-based)."""
    problems: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            kind = "missing " + node.type if node.is_missing else "error"
            snippet = text(node)[:40]
            problems.append(f"{node.start_point[0] + 1}:{node.start_point[1] + 1} {kind} {snippet!r}")
        stack.extend(node.children)
    return sorted(problems)


def text(node: Node | None) -> str:
    """Source text of a node; "" for an absent one (so comparisons with the expected text fail, not crash)."""
    return "" if node is None else (node.text or b"").decode("utf-8")


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.named_children:
        yield from walk(child)


def literal(node: Node | None) -> str | bool | int | None:
    """The value of a plain literal (string without interpolation, boolean, number); None for expressions."""
    if node is None:
        return None
    if node.type == "string":
        parts = node.named_children
        if any(part.type == "interpolation" for part in parts):
            return None
        return "".join(text(p) if p.type == "string_content" else _unescape(text(p)) for p in parts)
    if node.type == "boolean":
        return text(node) == "true"
    if node.type == "number":
        return int(text(node))
    return None


def _unescape(sequence: str) -> str:
    return {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}.get(sequence, sequence)


def key_name(prop: Node) -> str:
    key = prop.named_children[0]
    value = literal(key)
    return value if isinstance(value, str) else text(key)


def properties(obj: Node | None) -> dict[str, Node]:
    """Key -> value node of an object literal (comments skipped)."""
    if obj is None or obj.type != "object":
        return {}
    out: dict[str, Node] = {}
    for prop in obj.named_children:
        if prop.type == "object_property":
            out[key_name(prop)] = prop.named_children[-1]
    return out


def get(obj: Node | None, *path: str) -> Node | None:
    """The value at `path` inside nested object literals, or None."""
    node = obj
    for key in path:
        node = properties(node).get(key)
        if node is None:
            return None
    return node


def text_at(obj: Node | None, *path: str) -> str:
    """The source text of the value at `path` (which must exist)."""
    found = get(obj, *path)
    assert found is not None, f"no {'.'.join(path)} in {text(obj)[:60] if obj else None!r}"
    return text(found)


def items(array: Node | None) -> list[Node]:
    if array is None or array.type != "array":
        return []
    return [child for child in array.named_children if child.type != "comment"]


@dataclass(frozen=True)
class Declaration:
    kind: str  # resource | module | param | var | output
    name: str
    node: Node

    @property
    def target(self) -> str:
        """A resource's `type@api-version` or a module's path / registry reference."""
        value = literal(self.node.named_children[1])
        return value if isinstance(value, str) else ""

    @property
    def condition(self) -> Node | None:
        """The `if (...)` guard of a conditional resource or module."""
        for child in self.node.named_children:
            if child.type == "if_statement":
                return child.named_children[0]
        return None

    @property
    def body(self) -> Node:
        """The declaration's object (resource and module bodies, also behind `if`), or its value expression."""
        last = self.node.named_children[-1]
        if last.type == "if_statement":
            last = last.named_children[-1]
        return last

    @property
    def decorators(self) -> list[str]:
        previous = self.node.prev_named_sibling
        while previous is not None and previous.type == "comment":
            previous = previous.prev_named_sibling
        if previous is None or previous.type != "decorators":
            return []
        return [text(d) for d in previous.named_children]


_KINDS = {
    "resource_declaration": "resource",
    "module_declaration": "module",
    "parameter_declaration": "param",
    "variable_declaration": "var",
    "output_declaration": "output",
}


@dataclass(frozen=True)
class BicepFile:
    path: Path
    root: Node

    @property
    def rel(self) -> str:
        return self.path.relative_to(REPO).as_posix()

    def declarations(self, kind: str) -> dict[str, Declaration]:
        out: dict[str, Declaration] = {}
        for node in self.root.named_children:
            if _KINDS.get(node.type) == kind:
                name = text(node.named_children[0])
                out[name] = Declaration(kind, name, node)
        return out

    def var(self, name: str) -> Node | None:
        decl = self.declarations("var").get(name)
        return decl.body if decl else None

    def param_default(self, name: str) -> Node | None:
        decl = self.declarations("param")[name]
        value = decl.node.named_children[-1]
        return None if value.type == "type" else value

    def string_literals(self) -> Iterator[tuple[Node, str]]:
        for node in walk(self.root):
            if node.type == "string":
                value = literal(node)
                yield node, value if isinstance(value, str) else text(node)


@cache
def load(relative: str) -> BicepFile:
    path = REPO / relative
    return BicepFile(path, parse_source(path.read_bytes()))


def bicep_files() -> list[str]:
    return sorted(p.relative_to(REPO).as_posix() for p in INFRA.rglob("*.bicep"))
