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

@description('The webhook signing key.')
@secure()
param webhookSigningKey string

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
    value: webhookSigningKey
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
