"""The app settings in infra/app/api.bicep against the settings the code reads (`shared.settings.setting_names()`,
derived at test time, so a new settings section is checked the day it lands): none missing, none stale.

A setting the code reads may be left out of the template only if it is listed below with why, and only if the
code gives it a default (the README settings table documents it). A setting the template sets must be one the
code reads, or a platform setting listed below with who reads it."""

from __future__ import annotations

from tests.infra.bicep import REPO, literal, load, properties, text
from tests.infra.conftest import AppFacts

API = "infra/app/api.bicep"

# Read by the code, deliberately not set in Azure: the code's default is right there.
OPTIONAL = {
    "CHECK_UNSCOPED_MAILBOX": "`check` only: a mailbox outside the sync group; set through additionalAppSettings",
    "OPENAIR_CLIENT_NAME": "request envelope `client` attribute; default openair-m365-sync",
    "OPENAIR_TIMEOUT_SECONDS": "tuning; default 60",
    "OPENAIR_RETRY_BUDGET_SECONDS": "tuning; default 120",
    "GRAPH_BASE_URL": "global Graph by default; set through additionalAppSettings for a national cloud",
    "GRAPH_MAX_IN_FLIGHT_PER_MAILBOX": "default 4, the Exchange limit per mailbox",
    "GRAPH_RETRY_BUDGET_SECONDS": "tuning; default 120",
    "GRAPH_TIMEOUT_SECONDS": "tuning; default 60",
    "GRAPH_DEV_TOKEN": "only sent to a loopback Graph simulator, never to https Graph",
    "AzureWebJobsStorage": "a connection string, local only: Azure uses the identity-based AzureWebJobsStorage__*",
    "OPENAIR_PUSH_MAX_AGE_SECONDS": "replay window of the OpenAir push; default 300",
    "SUBSCRIPTION_LIFETIME_MINUTES": "Graph subscription lifetime; default 10,070 (Outlook allows 10,080)",
    "SUBSCRIPTION_RENEW_MARGIN_MINUTES": "renew this long before expiry; default 2,880",
    "WEBHOOK_MAX_BODY_BYTES": "notification size cap; default 1,000,000",
    "GRAPH_CLIENT_SECRET_EXPIRES": "only with a client secret; set through additionalAppSettings; default empty",
}

# Set by the template, read by the platform or by code outside shared/settings.py.
PLATFORM = {
    "AzureWebJobsStorage__credential": "Functions host: identity-based storage connection",
    "AzureWebJobsStorage__clientId": "Functions host: which user-assigned identity",
    "AzureWebJobsStorage__blobServiceUri": "Functions host: timer leases, deployment package",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Functions host: Entra auth to App Insights (local auth off)",
    "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "Functions host: host.json override",
    "KEY_VAULT_URL": "shared/secrets.py secret_provider()",
}


def bicep_settings() -> dict[str, str]:
    return {name: text(value) for name, value in properties(load(API).var("appSettings")).items()}


def test_every_setting_the_code_reads_is_set_by_the_template_or_documented_optional(app_facts: AppFacts) -> None:
    readable = set(app_facts.setting_names) - set(app_facts.secrets)
    missing = sorted(readable - set(bicep_settings()) - set(OPTIONAL))
    assert not missing, (
        f"app settings read by the code but not set in {API}: {missing}. Set them in `appSettings` there, or "
        "add them to OPTIONAL in this test with the reason (only if the code has a default)."
    )


def test_no_setting_in_the_template_is_stale(app_facts: AppFacts) -> None:
    stale = sorted(set(bicep_settings()) - set(app_facts.setting_names) - set(PLATFORM))
    assert not stale, f"{API} sets app settings nothing reads: {stale}"


def test_the_documented_lists_are_current(app_facts: AppFacts) -> None:
    assert set(OPTIONAL) <= set(app_facts.setting_names), set(OPTIONAL) - set(app_facts.setting_names)
    assert not set(OPTIONAL) & set(bicep_settings()), "a setting is both optional and set"
    for name in OPTIONAL:
        assert not app_facts.fields[name]["required"], f"{name} has no default in code: it must be set"
    now_read = sorted(set(PLATFORM) & set(app_facts.setting_names))
    assert not now_read, f"now in shared/settings.py, drop them from PLATFORM: {now_read}"
    assert "KEY_VAULT_URL" in (REPO / "shared" / "secrets.py").read_text()


def test_every_percent_setting_a_binding_uses_is_set(app_facts: AppFacts) -> None:
    """`%EXPORT_SCHEDULE%` and the like: a binding whose setting is unset is in error on Azure."""
    assert "EXPORT_SCHEDULE" in app_facts.placeholders
    unset = sorted(set(app_facts.placeholders) - set(bicep_settings()))
    assert not unset, f"bindings use %{unset}% but {API} does not set them"


def test_required_settings_are_set_from_parameters_never_empty_literals(app_facts: AppFacts) -> None:
    nodes = properties(load(API).var("appSettings"))
    for name, field in app_facts.fields.items():
        if field["required"]:
            assert name in nodes, name
            assert literal(nodes[name]) != "", f"{name} is required by the code but set to ''"
    main = load("infra/main.bicep")
    assert any("@minLength(1)" in d for d in main.declarations("param")["openAirBaseUrl"].decorators)


def deploy_section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Deploy to Azure")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end > 0 else None]


def test_the_readme_deploy_section_lists_each_setting_left_at_its_default_with_that_default(
    app_facts: AppFacts,
) -> None:
    lines = deploy_section().splitlines()
    for name in OPTIONAL:
        row = next((line for line in lines if line.startswith("| ") and f"`{name}`" in line), None)
        assert row is not None, f"README 'Deploy to Azure': no row for {name} in the settings left at their default"
        default = app_facts.fields[name]["default"].strip("'").removesuffix(".0")
        if default:
            assert str(default) in row.replace(",", ""), f"README row for {name} does not show its default {default}"


def test_the_readme_deploy_section_names_every_key_vault_secret(app_facts: AppFacts) -> None:
    section = deploy_section()
    for name in app_facts.secrets:
        assert f"| `{name.lower().replace('_', '-')}` | `{name}` |" in section, f"README: secret row for {name}"


def test_the_host_and_the_app_agree_on_the_dequeue_count() -> None:
    settings = bicep_settings()
    assert settings["QUEUE_MAX_DEQUEUE_COUNT"] == settings["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"]
