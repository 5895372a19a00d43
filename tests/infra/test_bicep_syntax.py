"""Every Bicep file parses (tree-sitter-bicep): the one syntax check available without the Bicep CLI."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.infra.bicep import INFRA, REPO, bicep_files, load, parse_source, syntax_problems

EXPECTED_FILES = {
    "infra/main.bicep",
    "infra/app/alerts.bicep",
    "infra/app/api.bicep",
    "infra/app/keyvault.bicep",
    "infra/app/monitoring.bicep",
    "infra/app/rbac.bicep",
    "infra/app/storage.bicep",
    "infra/app/graph-roles.bicep",
}


def test_the_template_files_are_there() -> None:
    assert set(bicep_files()) >= EXPECTED_FILES


# tree-sitter-bicep 1.1.0 predates the `extension <name>` statement (Bicep 0.30+, the Microsoft Graph extension):
# only that exact statement on a line of its own is excused, and only when bicepconfig.json declares the name.
_EXTENSION = re.compile(r"\d+:1 error 'extension ([A-Za-z][A-Za-z0-9]*)'")


@pytest.mark.parametrize("relative", bicep_files())
def test_bicep_file_parses_without_error_or_missing_nodes(relative: str) -> None:
    declared = json.loads((INFRA / "bicepconfig.json").read_text())["extensions"]
    problems = syntax_problems(load(relative).root)
    excused = [p for p in problems if (m := _EXTENSION.fullmatch(p)) and m.group(1) in declared]
    assert [p for p in problems if p not in excused] == []


def test_the_graph_extension_is_pinned_in_bicepconfig() -> None:
    declared = json.loads((INFRA / "bicepconfig.json").read_text())["extensions"]
    assert re.fullmatch(
        r"br:mcr\.microsoft\.com/bicep/extensions/microsoftgraph/v1\.0:\d+\.\d+\.\d+", declared["microsoftGraphV1"]
    )


@pytest.mark.parametrize(
    "broken",
    [
        b"resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n",  # unclosed object
        b"param location string =\n",  # missing value
        b"var x = [for item items: {}]\n",  # malformed loop
        b"var s = 'unterminated\n",  # unterminated string
    ],
)
def test_the_syntax_check_catches_broken_bicep(broken: bytes) -> None:
    assert syntax_problems(parse_source(broken)) != []


def test_local_module_paths_exist() -> None:
    for relative in bicep_files():
        bicep = load(relative)
        for module in bicep.declarations("module").values():
            if not module.target.startswith("br/"):
                assert (bicep.path.parent / module.target).is_file(), f"{relative}: module {module.name}"


def test_registry_modules_are_verified_modules_pinned_to_an_exact_version() -> None:
    seen = 0
    for relative in bicep_files():
        for module in load(relative).declarations("module").values():
            if module.target.startswith("br"):
                seen += 1
                assert re.fullmatch(r"br/public:avm/res/[a-z0-9-]+/[a-z0-9-]+:\d+\.\d+\.\d+", module.target), (
                    f"{relative}: {module.name} -> {module.target}"
                )
    assert seen >= 7  # identity, workspace, component, storage, vault, plan, site


def test_load_json_content_files_exist_and_hold_json() -> None:
    for relative in bicep_files():
        bicep = load(relative)
        for match in re.finditer(r"loadJsonContent\('([^']+)'\)", (bicep.root.text or b"").decode()):
            json.loads((bicep.path.parent / match.group(1)).read_text())


def test_azure_yaml_names_the_function_app_service() -> None:
    spec = yaml.safe_load((REPO / "azure.yaml").read_text())
    assert spec["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    assert spec["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}


def test_parameters_file_binds_only_parameters_main_declares() -> None:
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = load("infra/main.bicep").declarations("param")
    assert set(parameters) <= set(declared), set(parameters) - set(declared)
    assert parameters["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert parameters["location"]["value"] == "${AZURE_LOCATION}"
    assert parameters["administratorPrincipalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    # Parameters without a default must get a value from the file, or azd has nothing to pass.
    main = load("infra/main.bicep")
    required = {name for name in declared if main.param_default(name) is None}
    assert required <= set(parameters), required - set(parameters)
