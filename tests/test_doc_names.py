"""The documentation names code that exists (every backticked path, module, function, class member) and every module.

What is checked, in README.md, docs/*.md and the layout docstring of `shared/__init__.py`:
- a path (`shared/sync/planner.py`, `twins/`, `infra/app/*.bicep`) starting at a top-level folder of the repository;
  a path starting at a package of `shared/` (`store/offload.py`, `sync/`) when it names a file or ends with `/`
  (`sync/export`, with neither, is a route);
- a bare Python file name (`offload.py`): some file of the repository has that name;
- a dotted name starting at `shared`, a top-level package or a module of `shared/` (`jobs.export.run_export_timer`,
  `shared.push.PendingSaves`): the module exists and defines the name;
- `Class.member` for a class defined in the product, the twins, the sandbox or the benchmarks (`SyncStore.save_plan`):
  the class or one of its bases defines the member (method, class attribute or `self.` attribute);
- a bare snake_case name (`plan_export`, `outbox_users()`, `sync_run_id`): the code, the form script, the page or
  the templates hold that word (`FOREIGN_NAMES` lists the libraries' names the documents quote).
Other backticked words (settings, table columns, routes, Graph permissions) are not code names and are left alone.
The layout tables (README.md's and shared/__init__.py's) have a row for every top-level folder and module of `shared/`.
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    Path("README.md"),
    *sorted(p.relative_to(ROOT) for p in (ROOT / "docs").glob("*.md")),
    Path("shared/__init__.py"),
]
CODE_DIRS = ("shared", "twins", "sandbox", "bench", "blueprints", "tools")
SKIP_DIRS = {".venv", "node_modules", ".git", "__pycache__"}

TOKEN = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"^[\w.*<>-]+(/[\w.*<>-]*)+$")
DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(\(\))?$")
SNAKE = re.compile(r"^[a-z_][a-z0-9]*_[a-z0-9_]+(\(\))?$")
FOREIGN_NAMES = {"is_idle"}  # httpcore's, in docs/scaling.md
FILE_SUFFIXES = {"json", "md", "yaml", "yml", "toml", "txt", "in", "js", "mjs", "css", "html", "bicep", "xml", "csv"}


@functools.cache
def _top_dirs() -> frozenset[str]:
    """The repository's top-level folders: those git tracks (not `*.egg-info`, Azurite's data or a test's output)."""
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):  # not a checkout: every folder but the tools' own
        return frozenset(p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in SKIP_DIRS | {"__pycache__"})
    return frozenset(line.split("/")[0] for line in listed.splitlines() if "/" in line and not line.startswith("."))


def _shared_names() -> set[str]:
    return {p.stem for p in (ROOT / "shared").iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}


@functools.cache
def _python_files() -> tuple[Path, ...]:
    return tuple(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py") if not SKIP_DIRS & set(p.parts))


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _module_file(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _targets(node: ast.AST) -> Iterator[ast.expr]:
    if isinstance(node, ast.Assign):
        yield from node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        yield node.target


def _defined_at_top(path: Path) -> set[str]:
    names: set[str] = set()
    for node in _tree(path).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        for target in _targets(node):
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


@functools.cache
def _classes() -> dict[str, list[ast.ClassDef]]:
    found: dict[str, list[ast.ClassDef]] = {}
    for path in _python_files():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                found.setdefault(node.name, []).append(node)
    return found


def _members(cls: ast.ClassDef, seen: frozenset[str] = frozenset()) -> set[str]:
    names: set[str] = set()
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        for target in _targets(node):
            names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    for inner in ast.walk(cls):
        for target in _targets(inner):
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                names.add(target.attr)
    for base in cls.bases:
        name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
        if name and name not in seen:
            for parent in _classes().get(name, []):
                names |= _members(parent, seen | {cls.name})
    return names


@functools.cache
def _code_words() -> frozenset[str]:
    sources = [*_python_files(), *ROOT.glob("*.py"), *ROOT.glob("*.json"), *(ROOT / "form_script").iterdir()]
    sources += [*(ROOT / "infra").rglob("*.bicep"), *(ROOT / "shared" / "admin" / "page").iterdir()]
    return frozenset(w for path in sources for w in re.findall(r"\w+", path.read_text(encoding="utf-8")))


def _path_problem(token: str) -> str | None:
    first = token.split("/")[0]
    if first in _top_dirs():
        base = ROOT
    elif first in _shared_names() and (token.endswith("/") or Path(token).suffix):
        base = ROOT / "shared"
    else:
        return None  # a route, a media type, a zone name
    if "*" in token or "<" in token:
        pattern = re.sub(r"<[^>]*>", "*", token.rstrip("/"))
        return None if any(base.glob(pattern)) else "no such path"
    return None if (base / token).exists() else "no such path"


def _dotted_problem(token: str) -> str | None:
    parts = token.removesuffix("()").split(".")
    if parts[0] in CODE_DIRS:
        prefix: list[str] = []
    elif parts[0] in _shared_names():
        prefix = ["shared"]
    elif parts[0] in _classes() and len(parts) == 2 and not parts[1][0].isupper():
        if any(parts[1] in _members(cls) for cls in _classes()[parts[0]]):
            return None
        return f"class {parts[0]} has no member {parts[1]}"
    else:
        return None  # a Graph permission, a host.json key, a library's name
    for end in range(len(parts), 0, -1):
        module = _module_file(prefix + parts[:end])
        if module is None:
            continue
        rest = parts[end:]
        if not rest:
            return None
        if rest[0] not in _defined_at_top(module):
            return f"{'.'.join(parts[:end])} defines no {rest[0]}"
        if len(rest) > 1 and not any(rest[1] in _members(cls) for cls in _classes().get(rest[0], [])):
            return f"class {rest[0]} has no member {rest[1]}"
        return None
    return "no such module"


def problems_in(text: str) -> list[str]:
    """Each backticked code name in the text that names nothing in the repository, with why."""
    python_names = {p.name for p in _python_files()} | {p.name for p in ROOT.glob("*.py")}
    found = []
    for token in TOKEN.findall(text):
        token = token.strip()
        problem = None
        if PATH.match(token) and not token.startswith("/"):
            problem = _path_problem(token)
        elif re.fullmatch(r"[\w-]+\.py", token):
            problem = None if token in python_names or token == "__init__.py" else "no such file"
        elif DOTTED.match(token) and token.rsplit(".", 1)[1] not in FILE_SUFFIXES:  # `openair.json` is a file
            problem = _dotted_problem(token)
        elif SNAKE.match(token) and token.removesuffix("()") not in _code_words() | FOREIGN_NAMES:
            problem = "no code holds this name"
        if problem:
            found.append(f"`{token}`: {problem}")
    return found


def _doc_text(doc: Path) -> str:
    text = (ROOT / doc).read_text(encoding="utf-8")
    if doc.suffix == ".py":
        return ast.get_docstring(ast.parse(text)) or ""
    return text


@pytest.mark.parametrize("doc", DOCS, ids=str)
def test_every_code_name_a_document_mentions_exists(doc: Path) -> None:
    problems = problems_in(_doc_text(doc))
    assert not problems, f"{doc} names code that is not there (moved or renamed?):\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "stale",
    [
        "`shared/jobs.py`",  # a module that became a package
        "`shared/store/memory.py`",  # a twin that left the package
        "`store/backend.py`",  # a module renamed, named from shared/
        "`openair/after_save.js`",  # a folder renamed
        "`jobs.run_export_timer`",  # a function that moved module
        "`shared.push_jobs.run_export_record`",  # a module that is gone
        "`sync.planner.load_states`",  # a function that is gone
        "`Link.from_row`",  # a method that became a function
        "`SyncStore.backend`",  # an attribute that became private
        "`memory.py`",  # a file name nothing has
        "`remember_skipped`",  # a function that is gone, named alone
        "`ensure_owner_index()`",
    ],
)
def test_a_stale_name_is_caught(stale: str) -> None:
    assert problems_in(f"See {stale} for details."), stale


@pytest.mark.parametrize(
    "fine",
    [
        "`shared/jobs/`",
        "`store/offload.py`",
        "`infra/app/*.bicep`",
        "`jobs.export.run_export_timer`",
        "`shared.push.PendingSaves`",
        "`SyncStore.imports`",  # set in __init__
        "`Booking.updated`",  # a field of a base model
        "`offload.py`",
        "`outbox_users()`",
        "`sync_run_id`",  # a log field
        "`POST /api/openair/changed`",
        "`sync/export`",  # a route
        "`manage/status`",
        "`Calendars.ReadWrite`",
        "`America/New_York`",
        "`openair.json`",  # a file name, not a module's attribute
    ],
)
def test_a_name_that_exists_or_is_no_code_name_passes(fine: str) -> None:
    assert problems_in(f"See {fine} for details.") == []


def _layout_tokens() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return {token.rstrip("/") for token in TOKEN.findall(table)}


def _shared_entries() -> list[str]:
    return sorted(n for n in _shared_names() if n != "__init__")


@pytest.mark.parametrize("name", sorted(_top_dirs()))
def test_every_top_level_folder_has_a_row_in_the_readme_layout(name: str) -> None:
    assert name in _layout_tokens(), f"add `{name}/` to the Layout table of README.md"


@pytest.mark.parametrize("name", _shared_entries())
def test_every_module_and_package_of_shared_is_in_both_layout_tables(name: str) -> None:
    path = f"shared/{name}" if (ROOT / "shared" / name).is_dir() else f"shared/{name}.py"
    assert path in _layout_tokens(), f"add `{path}` to the Layout table of README.md"
    docstring = _doc_text(Path("shared/__init__.py"))
    assert f"`{name}`" in docstring or f"`{name}/`" in docstring, f"add `{name}` to the layout in shared/__init__.py"
