// Logs and telemetry: Application Insights on a Log Analytics workspace, with local (instrumentation-key)
// authentication off, so only Entra identities holding Monitoring Metrics Publisher can send telemetry.
param logAnalyticsName string
param applicationInsightsName string
param location string = resourceGroup().location
param tags object = {}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'loganalytics'
  params: {
    name: logAnalyticsName
    location: location
    tags: tags
    // 30 days is the retention included in the ingestion price; raise it for longer audit trails.
    dataRetention: 30
  }
}

module applicationInsights 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'appinsights'
  params: {
    name: applicationInsightsName
    location: location
    tags: tags
    kind: 'web'
    applicationType: 'web'
    // Workspace-based: logs land in Log Analytics (classic resources are retired).
    workspaceResourceId: logAnalytics.outputs.resourceId
    // The connection string alone cannot write telemetry: the app authenticates with its identity
    // (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) and needs Monitoring Metrics Publisher (rbac.bicep).
    disableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.outputs.name
output connectionString string = applicationInsights.outputs.connectionString
output logAnalyticsWorkspaceId string = logAnalytics.outputs.resourceId
