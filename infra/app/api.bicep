// The function app on Flex Consumption (Linux, Python 3.11) and its app settings. Every setting the code reads
// (shared/settings.py) is either set here or documented as optional with its default in the README; the
// tests in tests/infra/ compare the two. Secrets are not app settings: the app reads them from Key Vault
// through KEY_VAULT_URL with its managed identity.
param name string
param planName string
param location string = resourceGroup().location
param tags object = {}

param identityResourceId string
param identityClientId string
param blobServiceUri string
param queueServiceUri string
param tableServiceUri string
param deploymentContainerUrl string
param keyVaultUri string
param applicationInsightsConnectionString string

param openAirBaseUrl string
param openAirCompany string = ''
param openAirUser string = ''
param openAirNamespace string = 'default'
param openAirCompanyTimezone string = 'UTC'
param graphTenantId string
param graphClientId string = ''
@allowed(['certificate', 'clientSecret', 'managedIdentity'])
param graphAuth string = 'certificate'
param exportSchedule string = '0 */2 * * * *'
param importSubscriptionSchedule string = '0 7 * * * *'
param importReconcileSchedule string = '0 */15 * * * *'
param maxDequeueCount int = 5
param additionalAppSettings object = {}

param allowedIpRanges array = []
param adminAuthClientId string = ''
param maximumInstanceCount int = 100

// Host keys the app hands out (shared/access.py admits each only on its own routes): in the Graph subscription
// URLs, and in OpenAir's form script. Host keys, because function keys cannot be created before the code is
// deployed (the host answers 404 for a function it has not indexed).
@secure()
param webhookFunctionKey string
@secure()
param openAirPushKey string

var appSettings = {
  // Identity-based host storage: shared keys are off on the account, so the host and the app's table and
  // queue clients sign in with the user-assigned identity.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobServiceUri
  AzureWebJobsStorage__queueServiceUri: queueServiceUri
  AzureWebJobsStorage__tableServiceUri: tableServiceUri
  // Without it DefaultAzureCredential would look for a system-assigned identity and find none.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // App Insights has local auth off: telemetry is sent with the identity's Entra token.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // Secrets are read by name from this vault (shared/secrets.py), cached 5 minutes: a rotated secret is
  // picked up without a redeploy, and a secret that is not stored (say OPENAIR_API_KEY with OAuth) is simply
  // absent, where a Key Vault reference to it would arrive unresolved.
  KEY_VAULT_URL: keyVaultUri
  OPENAIR_BASE_URL: openAirBaseUrl
  OPENAIR_COMPANY: openAirCompany
  OPENAIR_USER: openAirUser
  OPENAIR_NAMESPACE: openAirNamespace
  OPENAIR_COMPANY_TIMEZONE: openAirCompanyTimezone
  GRAPH_TENANT_ID: graphTenantId
  GRAPH_CLIENT_ID: graphClientId
  GRAPH_USE_MANAGED_IDENTITY: graphAuth == 'managedIdentity' ? 'true' : 'false'
  // The export timer's schedule (%EXPORT_SCHEDULE% in function_app.py): the timer is in error without it.
  EXPORT_SCHEDULE: exportSchedule
  // Import (Outlook -> OpenAir): Graph subscriptions point at this app; timers renew them and reconcile.
  // The site's real default host name: newer apps get a unique one (<name>-<hash>.<region>-01.azurewebsites.net),
  // so it is read from the site, which is why these settings are a config resource after the site.
  WEBHOOK_BASE_URL: 'https://${site.outputs.defaultHostname}'
  IMPORT_SUBSCRIPTION_SCHEDULE: importSubscriptionSchedule
  IMPORT_RECONCILE_SCHEDULE: importReconcileSchedule
  // The app records the failure on a message's last attempt, so it must know the host's limit: one value for both.
  QUEUE_MAX_DEQUEUE_COUNT: string(maxDequeueCount)
  AzureFunctionsJobHost__extensions__queues__maxDequeueCount: string(maxDequeueCount)
}

// Optional access restriction. It applies to every route, the Graph webhook included (README).
var ipRestrictions = [
  for (range, i) in allowedIpRanges: {
    name: 'allowed-${i}'
    ipAddress: range
    action: 'Allow'
    priority: 100 + i
  }
]

// Routes called by services that cannot present an Entra token: Graph change and lifecycle notifications, and
// OpenAir's form script. They are protected by the function key plus their own shared secret
// (WEBHOOK_CLIENT_STATE, OPENAIR_PUSH_SECRET). Every other route is an administrator's (/api/manage/...).
var publicPaths = [
  '/api/graph/notifications'
  '/api/graph/lifecycle'
  '/api/openair/changed'
]

// Optional App Service authentication in front of the admin routes: an Entra token is required on top of
// the function key, except on publicPaths.
var authSettings = {
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: publicPaths
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: adminAuthClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: ['api://${adminAuthClientId}']
        }
      }
    }
  }
}

module plan 'br/public:avm/res/web/serverfarm:0.5.0' = {
  name: 'plan'
  params: {
    name: planName
    location: location
    tags: tags
    kind: 'functionapp'
    // Flex Consumption: per-execution billing, scale to zero, identity-based deployment from blob storage.
    skuName: 'FC1'
    reserved: true
    zoneRedundant: false
  }
}

module site 'br/public:avm/res/web/site:0.19.3' = {
  name: 'site'
  params: {
    name: name
    location: location
    tags: tags
    kind: 'functionapp,linux'
    serverFarmResourceId: plan.outputs.resourceId
    httpsOnly: true
    clientAffinityEnabled: false
    managedIdentities: {
      systemAssigned: false
      userAssignedResourceIds: [identityResourceId]
    }
    // Key Vault references (if an administrator adds any) resolve with the same identity.
    keyVaultAccessIdentityResourceId: identityResourceId
    // No publishing passwords: azd deploys with the administrator's Entra token.
    basicPublishingCredentialsPolicies: [
      {
        name: 'scm'
        allow: false
      }
      {
        name: 'ftp'
        allow: false
      }
    ]
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    // No ftpsState: Flex Consumption refuses it (ARM 51021); publishing credentials are off above anyway.
    siteConfig: {
      // Flex Consumption scales to zero; "always on" does not apply.
      alwaysOn: false
      minTlsVersion: '1.2'
      http20Enabled: true
      ipSecurityRestrictions: ipRestrictions
      ipSecurityRestrictionsDefaultAction: empty(allowedIpRanges) ? 'Allow' : 'Deny'
      scmIpSecurityRestrictionsUseMain: true
    }
    configs: empty(adminAuthClientId) ? [] : [authSettings]
  }
}

resource appSettingsConfig 'Microsoft.Web/sites/config@2024-04-01' = {
  name: '${name}/appsettings'
  // The template's own settings win over additionalAppSettings.
  properties: union(additionalAppSettings, appSettings)
  dependsOn: [site]
}

resource graphWebhookKey 'Microsoft.Web/sites/host/functionKeys@2024-04-01' = {
  name: '${name}/default/graph-webhook'
  properties: {
    name: 'graph-webhook'
    value: webhookFunctionKey
  }
  dependsOn: [appSettingsConfig]
}

resource openAirPushHostKey 'Microsoft.Web/sites/host/functionKeys@2024-04-01' = {
  name: '${name}/default/openair-push'
  properties: {
    name: 'openair-push'
    value: openAirPushKey
  }
  dependsOn: [appSettingsConfig]
}

output name string = site.outputs.name
output defaultHostname string = site.outputs.defaultHostname
output resourceId string = site.outputs.resourceId
