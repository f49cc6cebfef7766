// The one place the app's secrets live: the Azure OpenAI key and the webhook signing key. Access is
// by Azure RBAC only (no access policies), a deleted vault or secret stays recoverable, and every
// read of a secret is logged: the audit log goes to Log Analytics (who read it, when, from where).

@description('Name of the Key Vault.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the vault.')
param tags object

@description('Days a deleted vault or secret stays recoverable. Fixed once the vault exists.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Resource ID of the Log Analytics workspace that gets the audit log.')
param logAnalyticsWorkspaceId string

@description('Name of the secret that signs webhook deliveries (WEBHOOK_SIGNING_SECRET_NAME).')
param webhookSecretName string

@description('The webhook signing key; empty: one derived from the storage account\'s key1.')
@secure()
param webhookSigningKey string

@description('Name of the storage account whose key1 the default webhook signing key is derived from.')
param storageAccountName string

// The account refuses shared-key access, so key1 signs nothing there; it is a random secret that Azure
// keeps, unchanged until someone regenerates it. Two name-based GUIDs of it give the webhook signing key
// the same value on every deployment (ARM cannot ask whether the secret already exists, and a new
// random default would rotate the key under every receiver on each redeploy).
resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource webhookSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = {
  parent: vault
  name: webhookSecretName
  properties: {
    value: empty(webhookSigningKey) ? '${guid(storage.listKeys().keys[0].value, webhookSecretName, '1')}${guid(storage.listKeys().keys[0].value, webhookSecretName, '2')}' : webhookSigningKey
    contentType: 'Standard Webhooks signing key'
  }
}

// The linter offers 2016-09-01, the legacy API of one 'service' setting without category groups.
#disable-next-line use-recent-api-versions
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ categoryGroup: 'audit', enabled: true }]
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
