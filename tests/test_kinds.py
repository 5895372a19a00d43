"""The record-type registry (`shared.kinds.KINDS`) is complete, and the product takes the kinds from it: every kind
has every facet, each facet works where it is used, and no other module lists the kinds one by one."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from shared.domain.settings import IntegrationSettings
from shared.kinds import KIND_OF_TYPE, KINDS, RecordKind
from shared.openair.changes import ChangeSet, by_kind, model_of
from shared.openair.models import RECORD_TYPES, Booking
from shared.push import ChangeNotice
from shared.store.admin import (
    SETTING_SPECS,
    SWITCH_WORDS,
    new_user_switches,
    parse_settings,
    parse_user_mapping,
    setting_value,
)
from shared.store.tables import Row
from shared.sync.render import RENDERERS, presentation

ROOT = Path(__file__).resolve().parents[1]
EVERY_KIND = list(RecordKind)


def test_every_kind_has_one_entry_and_every_type_name_one_kind() -> None:
    assert list(KINDS) == EVERY_KIND
    assert all(spec.kind is kind for kind, spec in KINDS.items())
    assert len(KIND_OF_TYPE) == len(KINDS)
    for facet in ("openair_type", "switch_column", "new_users_setting", "reminder_setting", "words", "plural"):
        values = [getattr(spec, facet) for spec in KINDS.values()]
        assert all(values), facet
        assert len(set(values)) == len(values), f"two kinds share a {facet}"


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_every_kind_has_a_model_owned_through_userid_and_a_renderer(kind: RecordKind) -> None:
    model = model_of(kind)
    assert RECORD_TYPES[KINDS[kind].openair_type] is model
    assert KINDS[kind].openair_type == model.TYPE
    assert "userid" in model.model_fields, "the engine finds a record's owner in `userid`"
    assert "updated" in model.model_fields
    assert set(RENDERERS) == set(RecordKind)


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_the_relations_the_openair_reads_follow_name_real_fields(kind: RecordKind) -> None:
    model = model_of(kind)
    for pull in model.PULLED_IN_BY:
        assert pull.field in model.model_fields
        assert pull.their in RECORD_TYPES[pull.type].model_fields
    for child in model.CHILDREN:
        assert child.parent in RECORD_TYPES[child.type].model_fields
    # The reference reads (and `Reference`) hold these: a relation to another type needs them to read it too.
    assert model.CHILDREN == () or [c.type for c in model.CHILDREN] == ["Schedulerequest_item"]
    assert set(model.model_construct(id="1").refers_to()) <= {"Projecttask", "Project", "Customer"}


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_user_mapping_row_with_only_the_kinds_switch_exports_only_that_kind(kind: RecordKind) -> None:
    column = KINDS[kind].switch_column
    mapping = parse_user_mapping(Row("User", "7", {"Mailbox": "ada@contoso.com", column: True}))
    assert not isinstance(mapping, Exception)
    assert getattr(mapping, "export_kinds") == frozenset({kind})  # noqa: B009 (a RowProblem has none)
    assert SWITCH_WORDS[column] == KINDS[kind].words


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_the_kinds_settings_are_settings_and_reach_their_kind_only(kind: RecordKind) -> None:
    spec = KINDS[kind]
    names = {setting.name for setting in SETTING_SPECS}
    assert {spec.new_users_setting, spec.reminder_setting} <= names
    settings, problems = parse_settings([
        Row("Setting", spec.new_users_setting, {"Value": False}),
        Row("Setting", spec.reminder_setting, {"Value": True}),
    ])  # fmt: skip
    assert problems == ()
    assert setting_value(settings, spec.new_users_setting) is False
    assert setting_value(settings, spec.reminder_setting) is True
    switches = new_user_switches(settings)
    assert {column for column, on in switches.items() if not on} == {spec.switch_column, "Import"}
    assert [k for k in RecordKind if presentation(k, settings).is_reminder_on] == [kind]
    defaults = IntegrationSettings()
    assert setting_value(defaults, spec.new_users_setting) is True
    assert setting_value(defaults, spec.reminder_setting) is False


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_the_form_script_pushes_a_kind_by_its_openair_type(kind: RecordKind) -> None:
    notice = ChangeNotice(type=KINDS[kind].openair_type, id="12", user_id="7", timestamp=0)
    assert notice.kind is kind
    script = (ROOT / "form_script" / "after_save.js").read_text()
    assert f"'{KINDS[kind].openair_type}'" in script


def test_a_change_set_holds_records_by_kind_and_merges_them_by_id() -> None:
    first = Booking(id="1", userid="7", startdate=dt.date(2026, 12, 1), enddate=dt.date(2026, 12, 1), hours=8.0)
    again = first.model_copy(update={"hours": 4.0})
    changes = ChangeSet(records=by_kind([(RecordKind.BOOKING, [first])]))
    merged = changes.merged(ChangeSet(records=by_kind([(RecordKind.BOOKING, [again])])))
    assert merged.of(RecordKind.BOOKING) == (again,)  # the later read wins
    assert merged.each() == [(RecordKind.BOOKING, again)]
    assert len(merged) == 1
    assert RecordKind.TASK_ASSIGNMENT not in merged.records  # kinds without records are left out


# Modules that may name every kind one by one, and why.
ENUMERATING = {
    "shared/kinds.py": "the registry",
    "shared/openair/models.py": "a model per OpenAir type",
    "shared/sync/render.py": "a renderer per kind (RENDERERS)",
    "shared/sync/incumbent.py": "the Exchange Integration Manager's own subject formats, fixed history",
}


def _names_in_code(path: Path) -> set[str]:
    """Identifiers, attributes and string constants of a module, docstrings and comments left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.update(re.findall(r"[A-Za-z_]+", node.value))
    return out


def _mentions(names: set[str], kind: RecordKind) -> bool:
    spec = KINDS[kind]
    words = {kind.name, spec.openair_type, spec.switch_column, spec.new_users_setting, spec.reminder_setting}
    return bool(names & words)


def test_no_other_module_lists_the_kinds_one_by_one() -> None:
    sources = [*ROOT.glob("shared/**/*.py"), *ROOT.glob("blueprints/*.py"), ROOT / "function_app.py",
               *ROOT.glob("twins/*.py")]  # fmt: skip
    listing = sorted(
        str(path.relative_to(ROOT))
        for path in sources
        if all(_mentions(_names_in_code(path), kind) for kind in RecordKind)
    )
    assert set(listing) <= set(ENUMERATING)
