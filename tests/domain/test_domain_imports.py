"""The domain package is the engine's vocabulary: the engine and the adapters import it, never the other way round."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import shared.domain

DOMAIN = Path(shared.domain.__file__).parent
ALLOWED = ("shared.domain", "shared.kinds", "pydantic")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_domain_modules_import_only_the_standard_library_pydantic_and_each_other() -> None:
    modules = sorted(DOMAIN.glob("*.py"))
    assert len(modules) >= 5
    for path in modules:
        for name in _imports(path):
            top = name.partition(".")[0]
            if top in sys.stdlib_module_names:
                continue
            assert name.startswith(ALLOWED), f"{path.name} imports {name}"


def test_importing_the_domain_loads_no_adapter_engine_or_sdk() -> None:
    code = (
        "import sys, shared.domain.links, shared.domain.events, shared.domain.settings, shared.domain.mappings, "
        "shared.domain.runs; print(sorted(m for m in sys.modules if m.startswith(('shared.store', 'shared.graph', "
        "'shared.openair', 'shared.sync', 'msgraph', 'kiota', 'azure'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
