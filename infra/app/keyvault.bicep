// The vault holding the app's secrets, under the names shared/secrets.py derives from the setting names
// (OPENAIR_PASSWORD -> openair-password). Secrets a machine can make (client state, push secret, the two function
// keys) are generated at provision and stored here (generatedSecrets); main.parameters.json reads them back from
// the vault on the next provision, so a re-deploy writes the same values. Credentials issued by someone else
// (OpenAir's, Graph's) are stored by the administrator after `azd up` (README "Deploy to Azure").
param name string
param location string = resourceGroup().location
param tags object = {}
param purgeProtection bool = true

@secure()
@description('Secret name -> value, generated at provision time (main.bicep).')
param generatedSecrets object = {}

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

resource vaultRef 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: name
}

resource generated 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for secret in items(generatedSecrets): {
    parent: vaultRef
    name: secret.key
    properties: {
      value: secret.value
      contentType: 'generated at provision'
    }
    dependsOn: [vault]
  }
]
