""".funcignore decides what is deployed. The package list is built the way the deploy tools build it: the working
tree (untracked files included — azd zips the directory, not the git index) minus the .funcignore patterns
(gitignore syntax, applied with pathspec). The package must hold the app and import on its own, and nothing else."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pathspec
import pytest

from tests.infra.bicep import REPO

# Source only: dependencies are installed by the remote build from requirements.txt.
MAX_PACKAGE_BYTES = 3_000_000
MAX_PACKAGE_FILES = 600

MUST_SHIP = ("function_app.py", "host.json", "requirements.txt")
NEVER_SHIP_DIRS = (
    "tests/",
    "sandbox/",
    "twins/",
    "bench/",
    "docs/",
    "infra/",
    "node_modules/",
    ".venv/",
    ".git/",
    "form_script/",
)
NEVER_SHIP_FILES = ("local.settings.json", "local.settings.sample.json", "requirements-dev.txt", "package.json")


def package_files(root: Path) -> list[str]:
    """Relative paths that a deploy of `root` would upload, per its .funcignore."""
    spec = pathspec.GitIgnoreSpec.from_lines((root / ".funcignore").read_text().splitlines())
    shipped: list[str] = []
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory).relative_to(root)
        # An ignored directory is not descended into (as with git, nothing inside it can be re-included).
        subdirectories[:] = sorted(d for d in subdirectories if not spec.match_file(f"{(here / d).as_posix()}/"))
        shipped.extend((here / name).as_posix() for name in files if not spec.match_file((here / name).as_posix()))
    return sorted(shipped)


@pytest.fixture(scope="module")
def shipped() -> list[str]:
    return package_files(REPO)


def test_package_holds_the_app(shipped: list[str]) -> None:
    for name in MUST_SHIP:
        assert name in shipped, name
    shared_sources = sorted(
        p.relative_to(REPO).as_posix() for p in (REPO / "shared").rglob("*.py") if "__pycache__" not in p.parts
    )
    blueprint_sources = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "blueprints").glob("*.py"))
    missing = sorted(set(shared_sources + blueprint_sources) - set(shipped))
    assert shared_sources
    assert blueprint_sources
    assert not missing, f"app modules left out: {missing}"


def test_package_leaves_out_everything_that_is_not_the_app(shipped: list[str]) -> None:
    for path in shipped:
        assert not path.startswith(NEVER_SHIP_DIRS), path
        assert Path(path).name not in NEVER_SHIP_FILES, path
        assert "__pycache__" not in path, path
        assert not path.endswith(".pyc"), path
    top_level = {path.split("/")[0] for path in shipped}
    unexpected = sorted(
        t
        for t in top_level
        if not (t.endswith(".py") or t in {"host.json", "requirements.txt", "shared", "blueprints"})
    )
    assert not unexpected, f"not part of the app: {unexpected} (add them to .funcignore, or here if the app needs them)"


def test_no_twin_is_deployed_and_no_deployed_module_imports_one(shipped: list[str]) -> None:
    """The in-memory twins live in `twins/`, outside the package; a product module importing one (even inside a
    function) would fail on Azure, so every import of every shipped module is read, lazy ones included."""
    assert (REPO / "twins" / "tables.py").is_file()  # the check below looks at the right name
    assert not [path for path in shipped if path.startswith("twins/")]
    importers = []
    for path in (p for p in shipped if p.endswith(".py")):
        for node in ast.walk(ast.parse((REPO / path).read_text(), path)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            importers += [f"{path}: {name}" for name in names if name.split(".")[0] == "twins"]
    assert importers == []


def test_funcignore_alone_keeps_local_and_tooling_files_out(tmp_path: Path) -> None:
    """On a tree where every excluded thing exists (local settings are git-ignored, so the repo may lack them)."""
    shutil.copy(REPO / ".funcignore", tmp_path / ".funcignore")
    present = [
        "function_app.py",
        "blueprints/push.py",
        "host.json",
        "requirements.txt",
        "shared/__init__.py",
        "shared/openair/client.py",
        "shared/graph/gateway.py",
        "local.settings.json",
        "local.settings.sample.json",
        ".venv/lib/site.py",
        "node_modules/azurite/index.js",
        "tests/test_x.py",
        "tests/infra/test_y.py",
        "sandbox/host/__init__.py",
        "twins/tables.py",
        "bench/export.py",
        "docs/architecture.md",
        "infra/main.bicep",
        "form_script/after_save.js",
        ".git/HEAD",
        ".azure/dev/.env",
        "shared/__pycache__/jobs.cpython-311.pyc",
        "requirements-dev.txt",
        "requirements.in",
        "tools/lock.py",
        "README.md",
        "certificate.pem",
    ]
    for relative in present:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    assert package_files(tmp_path) == sorted(
        [
            "function_app.py",
            "blueprints/push.py",
            "host.json",
            "requirements.txt",
            "shared/__init__.py",
            "shared/openair/client.py",
            "shared/graph/gateway.py",
        ]
    )


def test_package_imports_and_registers_its_functions_on_its_own(
    shipped: list[str], tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    for relative in shipped:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, tmp_path / relative)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = (
        "import shared, function_app; "
        f"assert shared.__file__.startswith({str(tmp_path)!r}), shared.__file__; "
        "print(len(function_app.app.get_functions()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"the deployed package does not import on its own:\n{done.stderr[-3000:]}"
    assert int(done.stdout.strip()) >= 2
    record_property("package_functions", int(done.stdout.strip()))


def test_package_size_is_sane(shipped: list[str], record_property: Callable[[str, object], None]) -> None:
    size = sum((REPO / relative).stat().st_size for relative in shipped)
    record_property("package_bytes", size)
    record_property("package_files", len(shipped))
    print(f"deployed package: {len(shipped)} files, {size / 1024:.0f} KiB")  # shown with -s / -rP
    assert len(shipped) <= MAX_PACKAGE_FILES, len(shipped)
    assert size <= MAX_PACKAGE_BYTES, f"{size} bytes: something that is not the app is being deployed"
