"""The administrator's documentation keeps up with the code: every setting the code reads is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import setting_names
from shared.store.admin import SETTING_SPECS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(setting_names()))
def test_every_app_setting_is_in_the_readme(name: str) -> None:
    assert f"`{name}`" in (ROOT / "README.md").read_text(), f"document the app setting {name} in README.md"


@pytest.mark.parametrize("name", [spec.name for spec in SETTING_SPECS])
def test_every_integration_setting_is_in_the_tables_reference(name: str) -> None:
    assert f"`{name}`" in (ROOT / "docs" / "tables.md").read_text(), f"document {name} in docs/tables.md"
