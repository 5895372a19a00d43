// OpenAir <-> Microsoft 365 calendar sync: everything `azd up` creates, one resource group per azd environment.
// This file only composes modules; each module says why its settings are what they are.
targetScope = 'subscription'

// ---------------------------------------------------------------- environment (set by azd)
@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the unique resource names.')
param environmentName string

@minLength(1)
@description('Azure region of every resource. Only regions that offer Flex Consumption (FC1): `az functionapp list-flexconsumption-locations` lists the current ones (list as in Azure-Samples/functions-quickstart-python-http-azd).')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the administrator running azd (AZURE_PRINCIPAL_ID). Gets Key Vault Secrets Officer on the vault (to store the secrets) and Storage Table Data Contributor on the account (to edit the mapping tables). Empty = no administrator role.')
param administratorPrincipalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
@description('Kind of principal administratorPrincipalId is: azd sets AZURE_PRINCIPAL_TYPE (ServicePrincipal when it runs in a pipeline).')
param administratorPrincipalType string = 'User'

// ---------------------------------------------------------------- the integration (app settings)
@minLength(1)
@description('OPENAIR_BASE_URL: https://<company-id>.app.openair.com (azd env set OPENAIR_BASE_URL ...).')
param openAirBaseUrl string

@description('OPENAIR_COMPANY: company id, for password login. Empty with OAuth access tokens.')
param openAirCompany string = ''

@description('OPENAIR_USER: API user, for password login. Empty with OAuth access tokens.')
param openAirUser string = ''

@description('OPENAIR_NAMESPACE: API namespace issued with the API key.')
param openAirNamespace string = 'default'

@description('OPENAIR_COMPANY_TIMEZONE: IANA zone in which OpenAir reports created/updated times (drives the watermarks).')
param openAirCompanyTimezone string = 'UTC'

@description('GRAPH_TENANT_ID: Entra tenant of the mailboxes. Defaults to the tenant of this subscription.')
param graphTenantId string = tenant().tenantId

@description('GRAPH_CLIENT_ID: application (client) id of the Entra app registration. Empty only with graphAuth = managedIdentity.')
param graphClientId string = ''

@allowed(['certificate', 'clientSecret', 'managedIdentity'])
@description('How the app signs in to Graph: a certificate (Key Vault graph-client-certificate, preferred), a client secret (graph-client-secret), or the app\'s own managed identity (Graph app roles granted to it).')
param graphAuth string = 'certificate'

@description('EXPORT_SCHEDULE: NCRONTAB (seconds first, UTC) of the export timer.')
param exportSchedule string = '0 */2 * * * *'

@description('IMPORT_SUBSCRIPTION_SCHEDULE: NCRONTAB (UTC) of the timer that creates and renews Graph subscriptions.')
param importSubscriptionSchedule string = '0 7 * * * *'

@description('IMPORT_RECONCILE_SCHEDULE: NCRONTAB (UTC) of the import reconciliation (catches missed notifications).')
param importReconcileSchedule string = '0 */15 * * * *'

@minValue(1)
@description('Attempts per queue message before it goes to <queue>-poison (host.json maxDequeueCount and QUEUE_MAX_DEQUEUE_COUNT, kept equal).')
param maxDequeueCount int = 5

@description('Optional, non-secret app settings from the README settings table (e.g. {"GRAPH_TIMEOUT_SECONDS": "90"}). Never secrets: those go to Key Vault.')
param additionalAppSettings object = {}

// ---------------------------------------------------------------- optional hardening
@description('CIDR ranges allowed to call the app. Empty = no IP restriction. Applies to the whole app, including the Graph webhook: read the README before setting it.')
param allowedIpRanges array = []

@description('Client id of an Entra app registration that fronts the app with App Service authentication (every route except the Graph webhook needs an Entra token as well as the function key). Empty = off.')
param adminAuthClientId string = ''

@description('Key Vault purge protection. On for production; with it on, a vault deleted by `azd down` keeps its name for the retention period.')
param keyVaultPurgeProtection bool = true

// Flex Consumption refuses a maximum below 40 (learn.microsoft.com/azure/azure-functions/flex-consumption-plan).
@minValue(40)
@maxValue(1000)
@description('Flex Consumption scale-out cap (40 to 1000). The sync fans out one queue message per mailbox; Graph allows 4 concurrent requests per mailbox whatever the instance count.')
param maximumInstanceCount int = 100

// ---------------------------------------------------------------- alerts
@description('Administrator email for alerts (failed runs, poison messages, a fired deletion guard). Empty = alert rules without notification.')
param alertEmail string = ''

// ---------------------------------------------------------------- generated at provision time (never typed)
// main.parameters.json fills these with azd's $(secretOrRandomPassword <vault> <secret>): the value already in
// Key Vault when there is one (so a re-provision keeps it), a new random one on the first run. keyvault.bicep
// stores them; api.bicep makes the two keys host keys of the app. newGuid() serves deployments without azd.
@secure()
@description('WEBHOOK_CLIENT_STATE: the shared value Graph echoes in every notification (Key Vault webhook-client-state).')
param webhookClientState string = newGuid()

@secure()
@description('OPENAIR_PUSH_SECRET: HMAC key of the OpenAir form script (Key Vault openair-push-secret).')
param openAirPushSecret string = newGuid()

@secure()
@description('WEBHOOK_FUNCTION_KEY: the key in the Graph subscription URLs, a host key named graph-webhook (Key Vault webhook-function-key).')
param webhookFunctionKey string = newGuid()

@secure()
@description('OPENAIR_PUSH_KEY: the key OpenAir\'s form script presents, a host key named openair-push (Key Vault openair-push-key).')
param openAirPushKey string = newGuid()

@description('Grant Calendars.ReadWrite, MailboxSettings.Read, User.Read.All and Mail.Send as Graph app roles to the app\'s managed identity (no client secret at all). Needs a deploying principal allowed to grant app roles (Privileged Role Administrator, or AppRoleAssignment.ReadWrite.All). Off by default.')
param grantGraphAppRoles bool = false

// Function keys no shorter than 40 characters: azd's generated value (15 letters and digits) is lengthened
// with a hash of itself. Idempotent: a key read back from Key Vault is already long enough and kept as is.
var webhookKey = length(webhookFunctionKey) >= 40
  ? webhookFunctionKey
  : '${webhookFunctionKey}${uniqueString(webhookFunctionKey, 'graph')}${uniqueString(webhookFunctionKey, 'webhook')}'
var pushKey = length(openAirPushKey) >= 40
  ? openAirPushKey
  : '${openAirPushKey}${uniqueString(openAirPushKey, 'openair')}${uniqueString(openAirPushKey, 'push')}'

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
// The azure.yaml service this function app is deployed as.
var serviceName = 'api'
var functionAppName = '${abbrs.webSitesFunctions}${serviceName}-${resourceToken}'
// Flex Consumption deploys from a blob container that the app reads with its managed identity.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// One user-assigned identity for everything the app touches (storage, Key Vault, App Insights, optionally
// Graph): it survives app re-creation, so its role assignments and Graph permissions do too.
module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${serviceName}-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    purgeProtection: keyVaultPurgeProtection
    generatedSecrets: {
      'webhook-client-state': webhookClientState
      'openair-push-secret': openAirPushSecret
      'webhook-function-key': webhookKey
      'openair-push-key': pushKey
    }
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    administratorPrincipalId: administratorPrincipalId
    administratorPrincipalType: administratorPrincipalType
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: 'oa-sync-${resourceToken}'
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    alertEmail: alertEmail
  }
}

// Off by default: see graph-roles.bicep for the Entra privilege it needs.
module graphRoles 'app/graph-roles.bicep' = if (grantGraphAppRoles) {
  name: 'graphRoles'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': serviceName })
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    blobServiceUri: storage.outputs.blobServiceUri
    queueServiceUri: storage.outputs.queueServiceUri
    tableServiceUri: storage.outputs.tableServiceUri
    deploymentContainerUrl: '${storage.outputs.blobServiceUri}/${deploymentContainerName}'
    keyVaultUri: keyVault.outputs.uri
    // The connection string itself (the quickstart templates wrongly pass the component's name here).
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    openAirBaseUrl: openAirBaseUrl
    openAirCompany: openAirCompany
    openAirUser: openAirUser
    openAirNamespace: openAirNamespace
    openAirCompanyTimezone: openAirCompanyTimezone
    graphTenantId: graphTenantId
    graphClientId: graphClientId
    graphAuth: graphAuth
    exportSchedule: exportSchedule
    importSubscriptionSchedule: importSubscriptionSchedule
    importReconcileSchedule: importReconcileSchedule
    maxDequeueCount: maxDequeueCount
    additionalAppSettings: additionalAppSettings
    allowedIpRanges: allowedIpRanges
    adminAuthClientId: adminAuthClientId
    maximumInstanceCount: maximumInstanceCount
    webhookFunctionKey: webhookKey
    openAirPushKey: pushKey
  }
  // The host starts as soon as the site exists: its identity must already reach storage and Key Vault.
  dependsOn: [rbac]
}

// ---------------------------------------------------------------- outputs (azd stores them in .azure/<env>/.env)
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = 'https://${api.outputs.defaultHostname}'
// The site's real default host name (newer apps get a unique one, not <name>.azurewebsites.net).
// Graph change notifications are delivered here (with the graph-webhook key, which opens only the Graph routes).
output GRAPH_WEBHOOK_URL string = 'https://${api.outputs.defaultHostname}/api/graph/notifications'
// The Key Vault secret holding the Graph credential for the chosen graphAuth (none for managedIdentity).
output GRAPH_CREDENTIAL_SECRET_NAME string = graphAuth == 'certificate'
  ? 'graph-client-certificate'
  : (graphAuth == 'clientSecret' ? 'graph-client-secret' : '')
