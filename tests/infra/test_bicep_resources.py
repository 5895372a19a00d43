"""What the template must declare, asserted on the parse tree: Flex Consumption with a user-assigned identity,
locked-down storage holding the app's tables and queues, an RBAC Key Vault, App Insights without local auth,
exactly the role assignments the app needs, azd tags and outputs (shared/reference/azure.md)."""

from __future__ import annotations

import json
import re

from tests.infra.bicep import (
    BicepFile,
    Declaration,
    Node,
    bicep_files,
    get,
    items,
    literal,
    load,
    properties,
    text,
    text_at,
    walk,
)
from tests.infra.conftest import AppFacts

# Built-in role definition ids (shared/reference/azure.md; Key Vault Secrets Officer for the administrator).
BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
CERTIFICATES_OFFICER = "a4417e6f-fecd-4de8-b567-7b0420556985"

STORAGE = "Microsoft.Storage/storageAccounts"
VAULT = "Microsoft.KeyVault/vaults"
INSIGHTS = "Microsoft.Insights/components"

MAIN = "infra/main.bicep"
API = "infra/app/api.bicep"
WEBHOOK_PATH = "/api/graph/notifications"


def module(bicep: BicepFile, reference_prefix: str) -> Declaration:
    found = [m for m in bicep.declarations("module").values() if m.target.startswith(reference_prefix)]
    assert len(found) == 1, f"{bicep.rel}: expected one module {reference_prefix}*, found {[m.target for m in found]}"
    return found[0]


def param(decl: Declaration, *path: str) -> Node:
    node = get(decl.body, "params", *path)
    assert node is not None, f"module {decl.name}: no params.{'.'.join(path)}"
    return node


def app_settings() -> dict[str, Node]:
    return properties(load(API).var("appSettings"))


def test_subscription_scope_with_one_resource_group_per_environment() -> None:
    main = load(MAIN)
    scope = next(n for n in main.root.named_children if n.type == "target_scope_assignment")
    assert literal(scope.named_children[0]) == "subscription"
    rg = main.declarations("resource")["rg"]
    assert rg.target.startswith("Microsoft.Resources/resourceGroups@")
    assert "environmentName" in text_at(rg.body, "name")
    assert text_at(rg.body, "tags") == "tags"
    assert text_at(main.var("tags"), "azd-env-name") == "environmentName"
    assert "subscription().id, environmentName, location" in text(main.var("resourceToken"))


def test_every_module_is_tagged_and_the_function_app_carries_the_azd_service_name() -> None:
    main = load(MAIN)
    for decl in main.declarations("module").values():
        if decl.name not in ("rbac", "graphRoles"):  # role assignments and Graph app-role grants carry no tags
            assert get(decl.body, "params", "tags") is not None, f"main.bicep module {decl.name} has no tags"
    for relative in bicep_files():
        for decl in load(relative).declarations("module").values():
            if decl.target.startswith("br/"):
                assert text(param(decl, "tags")) == "tags", f"{relative}: {decl.name}"
    api_tags = text(param(main.declarations("module")["api"], "tags"))
    assert api_tags == "union(tags, { 'azd-service-name': serviceName })"
    assert literal(main.var("serviceName")) == "api"  # the azure.yaml service key (test_bicep_syntax)


def test_function_app_runs_python_311_on_flex_consumption_with_the_user_assigned_identity() -> None:
    api = load(API)
    plan = module(api, "br/public:avm/res/web/serverfarm:")
    assert literal(param(plan, "skuName")) == "FC1"
    assert literal(param(plan, "reserved")) is True
    site = module(api, "br/public:avm/res/web/site:")
    assert literal(param(site, "kind")) == "functionapp,linux"
    assert text(param(site, "serverFarmResourceId")) == "plan.outputs.resourceId"
    assert literal(param(site, "functionAppConfig", "runtime", "name")) == "python"
    assert literal(param(site, "functionAppConfig", "runtime", "version")) == "3.11"
    deployment = param(site, "functionAppConfig", "deployment", "storage")
    assert literal(get(deployment, "type")) == "blobContainer"
    assert literal(get(deployment, "authentication", "type")) == "UserAssignedIdentity"
    assert text_at(deployment, "authentication", "userAssignedIdentityResourceId") == "identityResourceId"
    assert literal(param(site, "managedIdentities", "systemAssigned")) is False
    assert [text(n) for n in items(param(site, "managedIdentities", "userAssignedResourceIds"))] == [
        "identityResourceId"
    ]
    assert text(param(site, "keyVaultAccessIdentityResourceId")) == "identityResourceId"
    assert literal(param(site, "httpsOnly")) is True
    # Flex Consumption refuses siteConfig.ftpsState (ARM 51021, Azure/azure-cli#31414).
    assert get(param(site, "siteConfig"), "ftpsState") is None
    # The settings the template computes win over the administrator's additional ones.
    settings = api.declarations("resource")["appSettingsConfig"]
    assert settings.target.startswith("Microsoft.Web/sites/config@")
    assert text_at(settings.body, "properties") == "union(additionalAppSettings, appSettings)"

    main_api = load(MAIN).declarations("module")["api"]
    assert text(param(main_api, "identityResourceId")) == "identity.outputs.resourceId"
    assert text(param(main_api, "identityClientId")) == "identity.outputs.clientId"
    assert module(load(MAIN), "br/public:avm/res/managed-identity/user-assigned-identity:").name == "identity"


def test_storage_connection_is_identity_based_and_azure_client_id_is_set() -> None:
    settings = app_settings()
    assert literal(settings["AzureWebJobsStorage__credential"]) == "managedidentity"
    assert text(settings["AzureWebJobsStorage__clientId"]) == "identityClientId"
    assert text(settings["AZURE_CLIENT_ID"]) == "identityClientId"
    for service in ("blob", "queue", "table"):
        assert text(settings[f"AzureWebJobsStorage__{service}ServiceUri"]) == f"{service}ServiceUri"
        main_api = load(MAIN).declarations("module")["api"]
        assert text(param(main_api, f"{service}ServiceUri")) == f"storage.outputs.{service}ServiceUri"
    # A connection string would need the account key (off); Flex rejects the worker/extension settings.
    for forbidden in ("AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"):
        assert forbidden not in settings


def test_storage_account_refuses_shared_keys_old_tls_and_public_blobs() -> None:
    account = module(load("infra/app/storage.bicep"), "br/public:avm/res/storage/storage-account:")
    assert literal(param(account, "allowSharedKeyAccess")) is False
    assert literal(param(account, "allowBlobPublicAccess")) is False
    assert literal(param(account, "minimumTlsVersion")) == "TLS1_2"
    assert literal(param(account, "supportsHttpsTrafficOnly")) is True
    for container in items(param(account, "blobServices", "containers")):
        assert literal(get(container, "publicAccess")) == "None"
    for relative in bicep_files():
        source = text(load(relative).root)
        assert "listKeys(" not in source, relative
        assert "AccountKey=" not in source, relative


def test_storage_holds_exactly_the_tables_and_queues_the_app_uses(app_facts: AppFacts) -> None:
    storage = load("infra/app/storage.bicep")
    tables = {str(literal(n)) for n in items(storage.var("tableNames"))}
    queues = {str(literal(n)) for n in items(storage.var("queueNames"))}
    assert tables == set(app_facts.tables), "tables: shared/store/store.py ALL_TABLES"
    assert queues == app_facts.queue_names(), "queues: the queue bindings in function_app.py and blueprints"
    account = module(storage, "br/public:avm/res/storage/storage-account:")
    assert text(param(account, "tableServices", "tables")).startswith("[for table in tableNames:")
    assert text(param(account, "queueServices", "queues")).startswith("[for queue in queueNames:")


def test_key_vault_uses_rbac_and_holds_no_secret_values() -> None:
    vault = module(load("infra/app/keyvault.bicep"), "br/public:avm/res/key-vault/vault:")
    assert literal(param(vault, "enableRbacAuthorization")) is True
    assert literal(param(vault, "enableSoftDelete")) is True
    params = properties(get(vault.body, "params"))
    assert "secrets" not in params
    assert "accessPolicies" not in params


def test_application_insights_sits_on_log_analytics_with_local_auth_off() -> None:
    monitoring = load("infra/app/monitoring.bicep")
    component = module(monitoring, "br/public:avm/res/insights/component:")
    workspace = module(monitoring, "br/public:avm/res/operational-insights/workspace:")
    assert text(param(component, "workspaceResourceId")) == f"{workspace.name}.outputs.resourceId"
    assert literal(param(component, "disableLocalAuth")) is True
    # The known defect of the quickstart templates: returning the component's name as its connection string.
    output = monitoring.declarations("output")["connectionString"]
    assert text(output.body) == f"{component.name}.outputs.connectionString"
    main_api = load(MAIN).declarations("module")["api"]
    assert text(param(main_api, "applicationInsightsConnectionString")) == "monitoring.outputs.connectionString"
    settings = app_settings()
    assert text(settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]) == "applicationInsightsConnectionString"
    assert (
        text(settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"])
        == "'ClientId=${identityClientId};Authorization=AAD'"
    )


def _role_assignments() -> list[tuple[str, str, str, str, bool]]:
    """(role id, scope resource type, principal, principal type, conditional) of every role assignment."""
    found: list[tuple[str, str, str, str, bool]] = []
    for relative in bicep_files():
        bicep = load(relative)
        # Roles are granted in rbac.bicep only, never through a module's roleAssignments parameter.
        for node in walk(bicep.root):
            if node.type == "object_property" and text(node.named_children[0]) == "roleAssignments":
                raise AssertionError(f"{relative}: roleAssignments parameter at line {node.start_point[0] + 1}")
        resources = bicep.declarations("resource")
        for decl in resources.values():
            if not decl.target.startswith("Microsoft.Authorization/roleAssignments@"):
                continue
            assert relative == "infra/app/rbac.bicep", f"role assignment {decl.name} in {relative}"
            role_ref = re.fullmatch(
                r"subscriptionResourceId\('Microsoft.Authorization/roleDefinitions', roleIds\.(\w+)\)",
                text_at(decl.body, "properties", "roleDefinitionId"),
            )
            assert role_ref, f"{decl.name}: roleDefinitionId must name a roleIds entry"
            role_id = literal(get(bicep.var("roleIds"), role_ref.group(1)))
            scope = text_at(decl.body, "scope")
            assert scope in resources, f"{decl.name}: scope {scope} is not a resource of this file"
            principal = text_at(decl.body, "properties", "principalId")
            expected_name = f"guid({scope}.id, {principal}, roleIds.{role_ref.group(1)})"
            assert text_at(decl.body, "name") == expected_name, decl.name
            principal_type = get(decl.body, "properties", "principalType")
            kind = literal(principal_type) or text_at(decl.body, "properties", "principalType")
            found.append(
                (str(role_id), resources[scope].target.split("@")[0], principal, str(kind), bool(decl.condition))
            )
    return found


def test_role_assignments_are_exactly_the_ones_the_app_and_the_administrator_need() -> None:
    assignments = _role_assignments()
    app = {(role, scope) for role, scope, who, kind, conditional in assignments if who == "appPrincipalId"}
    assert app == {
        (BLOB_DATA_OWNER, STORAGE),
        (QUEUE_DATA_CONTRIBUTOR, STORAGE),
        (TABLE_DATA_CONTRIBUTOR, STORAGE),
        (METRICS_PUBLISHER, INSIGHTS),
        (SECRETS_USER, VAULT),
    }
    for _, _, who, kind, conditional in assignments:
        if who == "appPrincipalId":
            assert kind == "ServicePrincipal"
            assert not conditional
    admin = {(role, scope) for role, scope, who, _, _ in assignments if who == "administratorPrincipalId"}
    # Certificates Officer: the README's `az keyvault certificate create` step needs it.
    assert admin == {(SECRETS_OFFICER, VAULT), (CERTIFICATES_OFFICER, VAULT), (TABLE_DATA_CONTRIBUTOR, STORAGE)}
    assert all(conditional for _, _, who, _, conditional in assignments if who == "administratorPrincipalId")
    assert {who for _, _, who, _, _ in assignments} == {"appPrincipalId", "administratorPrincipalId"}
    assert len(assignments) == len(app) + len(admin)
    rbac = load(MAIN).declarations("module")["rbac"]
    assert text(param(rbac, "appPrincipalId")) == "identity.outputs.principalId"
    assert text(param(rbac, "administratorPrincipalId")) == "administratorPrincipalId"
    assert text(param(rbac, "administratorPrincipalType")) == "administratorPrincipalType"
    parameters = json.loads((load(MAIN).path.parent / "main.parameters.json").read_text())["parameters"]
    # azd sets AZURE_PRINCIPAL_TYPE: a pipeline's service principal gets its role assignments with the right type.
    assert parameters["administratorPrincipalType"]["value"] == "${AZURE_PRINCIPAL_TYPE=User}"


# A long run of token characters mixing digits and both cases (account keys, client secrets, tokens), a
# credential in a connection string, or a PEM private key.
_TOKEN = re.compile(r"[A-Za-z0-9+/=_~.-]{32,}")
_CREDENTIAL = re.compile(r"(?i)(accountkey|sharedaccesssignature|sig|password|pwd|secret)=[^$\s]")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def looks_like_a_secret(value: str) -> bool:
    if _CREDENTIAL.search(value) or _PRIVATE_KEY.search(value):
        return True
    for token in _TOKEN.findall(value):
        if "://" in value and "/" in token:
            continue  # a URL path
        if re.search(r"\d", token) and re.search(r"[a-z]", token) and re.search(r"[A-Z]", token):
            return True
    return False


def test_the_secret_detector_knows_a_secret_when_it_sees_one() -> None:
    assert looks_like_a_secret(
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    )
    assert looks_like_a_secret("abc8Q~Zy1x2W3v4U5t6S7r8Q9p0OnMlKjIhGfEdC")  # Entra client secret shape
    assert looks_like_a_secret("DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc")
    assert not looks_like_a_secret("${abbrs.managedIdentityUserAssignedIdentities}${serviceName}")
    assert not looks_like_a_secret("4633458b-17de-408a-b874-0445c86b69e6")  # a role definition id


def test_no_literal_looks_like_a_secret() -> None:
    for relative in bicep_files():
        for node, value in load(relative).string_literals():
            assert not looks_like_a_secret(value), f"{relative}:{node.start_point[0] + 1}: {value[:30]!r}"
    parameters = json.loads((load(MAIN).path.parent / "main.parameters.json").read_text())["parameters"]
    for name, entry in parameters.items():
        reference = r"\$\{[A-Z_]+(=[A-Za-z]+)?\}|\$\(secretOrRandomPassword \$\{AZURE_KEY_VAULT_NAME\} [a-z-]+\)"
        assert re.fullmatch(reference, entry["value"]), f"main.parameters.json {name}: only references"
    for relative in bicep_files():
        bicep = load(relative)
        for name, declaration in bicep.declarations("param").items():
            if re.search(r"(?i)password|secret|apikey|token|clientstate|key$", name):
                assert "@secure()" in declaration.decorators, f"{relative}: param {name} holds a secret: @secure()"


def test_secrets_are_read_from_key_vault_never_set_as_values(app_facts: AppFacts) -> None:
    settings = app_settings()
    reference = re.compile(r"'@Microsoft\.KeyVault\(SecretUri=https://\S+/secrets/([a-z0-9-]+)/\)'")
    for name in app_facts.secrets:
        if name in settings:
            match = reference.fullmatch(text(settings[name]))
            assert match, f"{name} must be a Key Vault reference (trailing slash), or left to KEY_VAULT_URL"
            assert match.group(1) == name.lower().replace("_", "-")
    assert text(settings["KEY_VAULT_URL"]) == "keyVaultUri"
    main_api = load(MAIN).declarations("module")["api"]
    assert text(param(main_api, "keyVaultUri")) == "keyVault.outputs.uri"


def test_outputs_give_the_app_url_and_the_graph_webhook_url(app_facts: AppFacts) -> None:
    outputs = load(MAIN).declarations("output")
    assert text(outputs["SERVICE_API_URI"].body) == "'https://${api.outputs.defaultHostname}'"
    webhook = text(outputs["GRAPH_WEBHOOK_URL"].body)
    assert webhook == f"'https://${{api.outputs.defaultHostname}}{WEBHOOK_PATH}'"
    # Once the webhook route exists in the app, it must be the one the output names.
    notification_routes = [r for r in app_facts.routes if "notifications" in r]
    assert all(f"/api/{route}" == WEBHOOK_PATH for route in notification_routes), notification_routes


def test_optional_entra_auth_spares_exactly_the_routes_that_services_call(app_facts: AppFacts) -> None:
    """Graph and OpenAir's form script cannot present an Entra token; every other route is an administrator's."""
    api = load(API)
    assert text_at(api.var("authSettings"), "properties", "globalValidation", "excludedPaths") == "publicPaths"
    public = {str(literal(n)) for n in items(api.var("publicPaths"))}
    service_routes = {f"/api/{route}" for route in app_facts.routes if not route.startswith("manage/")}
    assert public == service_routes | {WEBHOOK_PATH}, "publicPaths in api.bicep: the non-admin HTTP routes"


def test_hardening_options_default_to_off() -> None:
    main = load(MAIN)
    assert text(main.param_default("allowedIpRanges")) == "[]"
    assert literal(main.param_default("adminAuthClientId")) == ""
    assert literal(main.param_default("graphAuth")) == "certificate"
    api = load(API)
    site = module(api, "br/public:avm/res/web/site:")
    assert text(param(site, "siteConfig", "ipSecurityRestrictionsDefaultAction")) == (
        "empty(allowedIpRanges) ? 'Allow' : 'Deny'"
    )
    assert "empty(adminAuthClientId) ? [] : [authSettings]" in text(param(site, "configs"))


GENERATED = {
    "webhookClientState": "webhook-client-state",
    "openAirPushSecret": "openair-push-secret",
    "webhookFunctionKey": "webhook-function-key",
    "openAirPushKey": "openair-push-key",
}


def test_machine_made_secrets_are_generated_at_provision_and_kept_across_provisions() -> None:
    """Nothing typed by hand that a machine can make: azd reads the value back from the vault, or makes one."""
    main = load(MAIN)
    parameters = json.loads((main.path.parent / "main.parameters.json").read_text())["parameters"]
    for name, secret in GENERATED.items():
        assert parameters[name]["value"] == f"$(secretOrRandomPassword ${{AZURE_KEY_VAULT_NAME}} {secret})"
        assert "@secure()" in main.declarations("param")[name].decorators
        assert text(main.param_default(name)) == "newGuid()"  # a deployment without azd still gets one
    stored = properties(param(main.declarations("module")["keyVault"], "generatedSecrets"))
    assert set(stored) == set(GENERATED.values())
    vault = load("infra/app/keyvault.bicep").declarations("resource")["generated"]
    assert vault.target.startswith("Microsoft.KeyVault/vaults/secrets@")
    assert "for secret in items(generatedSecrets)" in text(vault.body)
    assert "value: secret.value" in text(vault.body)


def test_the_keys_handed_out_are_host_keys_created_at_provision_with_the_stored_values() -> None:
    main_api = load(MAIN).declarations("module")["api"]
    stored = properties(param(load(MAIN).declarations("module")["keyVault"], "generatedSecrets"))
    assert text(param(main_api, "webhookFunctionKey")) == text(stored["webhook-function-key"]) == "webhookKey"
    assert text(param(main_api, "openAirPushKey")) == text(stored["openair-push-key"]) == "pushKey"
    resources = load(API).declarations("resource")
    for symbol, key_name, value in [("graphWebhookKey", "graph-webhook", "webhookFunctionKey"),
                                    ("openAirPushHostKey", "openair-push", "openAirPushKey")]:  # fmt: skip
        key = resources[symbol]
        assert key.target.startswith("Microsoft.Web/sites/host/functionKeys@")
        assert text_at(key.body, "name") == f"'${{name}}/default/{key_name}'"
        assert literal(get(key.body, "properties", "name")) == key_name
        assert text_at(key.body, "properties", "value") == value


def test_webhook_base_url_is_the_sites_real_default_host_name() -> None:
    assert text(app_settings()["WEBHOOK_BASE_URL"]) == "'https://${site.outputs.defaultHostname}'"


def test_scale_out_cap_starts_at_the_platforms_lowest_maximum_and_regions_offer_flex() -> None:
    main = load(MAIN)
    decorators = main.declarations("param")["maximumInstanceCount"].decorators
    assert "@minValue(40)" in decorators
    assert int(str(literal(main.param_default("maximumInstanceCount")))) >= 40
    location = " ".join(main.declarations("param")["location"].decorators)
    allowed = set(re.findall(r"'([a-z0-9]+)'", location.split("@allowed(")[1]))
    assert {"westeurope", "eastus", "northeurope", "australiaeast"} <= allowed
    assert not allowed & {"westindia", "chinaeast", "usgovvirginia", "eastus2euap"}


def test_graph_app_roles_for_the_managed_identity_are_optional_and_off() -> None:
    main = load(MAIN)
    assert literal(main.param_default("grantGraphAppRoles")) is False
    roles_module = main.declarations("module")["graphRoles"]
    assert (
        text(roles_module.condition) == "(grantGraphAppRoles)" or text(roles_module.condition) == "grantGraphAppRoles"
    )
    assert text(param(roles_module, "appPrincipalId")) == "identity.outputs.principalId"
    roles = load("infra/app/graph-roles.bicep")
    assert {str(literal(n)) for n in items(roles.var("roles"))} == {
        "Calendars.ReadWrite", "MailboxSettings.Read", "User.Read.All", "Mail.Send"}  # fmt: skip
    grant = roles.declarations("resource")["grants"]
    assert grant.target == "Microsoft.Graph/appRoleAssignedTo@v1.0"
