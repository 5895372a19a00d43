// The function app's storage account: the Functions host (timer leases, queue triggers, deployment package)
// and the product's own tables and queues. Shared-key access is off: every caller, the host included, signs in
// with Entra ID (AzureWebJobsStorage__credential = managedidentity in api.bicep).
param name string
param location string = resourceGroup().location
param tags object = {}
param deploymentContainerName string

// The tables the app uses (shared/store/store.py ALL_TABLES). The app also creates missing ones at start-up,
// but creating them here lets the administrator fill UserMappings and IntegrationSettings before the first run.
var tableNames = [
  'UserMappings'
  'BookingTypeShowAs'
  'IntegrationSettings'
  'Links'
  'LinkOwners'
  'Outbox'
  'Cursors'
  'UserState'
  'Runs'
  'AuditLog'
  'Subscriptions'
  'ImportedEvents'
]

// The queues the function bindings use (function_app.py and blueprints), with their poison queues so that
// alerts and Storage Explorer can watch them before the first failure.
var queueNames = [
  'export-mailbox'
  'export-mailbox-poison'
  'export-record'
  'export-record-poison'
  'import-mailbox'
  'import-mailbox-poison'
  'manage-operations'
  'manage-operations-poison'
]

module account 'br/public:avm/res/storage/storage-account:0.27.1' = {
  name: 'storageaccount'
  params: {
    name: name
    location: location
    tags: tags
    kind: 'StorageV2'
    skuName: 'Standard_LRS'
    // Entra ID only: no account keys, no SAS signed with them.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Flex Consumption without VNet integration reaches storage over public endpoints; access is by identity.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    blobServices: {
      containers: [
        {
          name: deploymentContainerName
          publicAccess: 'None'
        }
      ]
    }
    queueServices: {
      queues: [for queue in queueNames: { name: queue }]
    }
    tableServices: {
      tables: [for table in tableNames: { name: table }]
    }
  }
}

output name string = account.outputs.name
output resourceId string = account.outputs.resourceId
// Endpoints of the identity-based connection (AzureWebJobsStorage__*ServiceUri), without a trailing slash.
output blobServiceUri string = 'https://${name}.blob.${environment().suffixes.storage}'
output queueServiceUri string = 'https://${name}.queue.${environment().suffixes.storage}'
output tableServiceUri string = 'https://${name}.table.${environment().suffixes.storage}'
