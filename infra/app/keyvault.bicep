// The vault holding the app's secrets. Secret *values* are never in this template: the administrator stores
// them after `azd up` (README "Deploy to Azure"), under the names shared/secrets.py derives from the setting
// names (OPENAIR_PASSWORD -> openair-password). A template that wrote secrets would reset them on every deploy.
param name string
param location string = resourceGroup().location
param tags object = {}
param purgeProtection bool = true

module vault 'br/public:avm/res/key-vault/vault:0.12.1' = {
  name: 'vault'
  params: {
    name: name
    location: location
    tags: tags
    sku: 'standard'
    // Azure RBAC, not access policies: the app's identity gets Key Vault Secrets User on this vault only.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: purgeProtection
    // Flex Consumption without VNet integration has no fixed outbound addresses to allow-list, so the vault
    // is reachable publicly and protected by Entra authentication + RBAC.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

output name string = vault.outputs.name
output resourceId string = vault.outputs.resourceId
output uri string = vault.outputs.uri
