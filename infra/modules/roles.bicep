// Data-plane roles for one principal, each assigned on the one resource it is about (never on the
// resource group). Roles are named here once; callers list the names they need per resource.

@description('Object ID of the principal that gets the roles.')
param principalId string

@description('Kind of principal: ServicePrincipal for the app\'s identity, User for a developer.')
@allowed(['ServicePrincipal', 'User', 'Group'])
param principalType string

@description('Name of the storage account.')
param storageAccountName string

@description('Roles on the storage account.')
param storageRoles string[]

@description('Name of the Key Vault.')
param keyVaultName string

@description('Roles on the whole Key Vault.')
param keyVaultRoles string[]

@description('Names of the existing secrets that keyVaultSecretRoles are assigned on, each one alone.')
param keyVaultSecretNames string[]

@description('Roles on each secret of keyVaultSecretNames (not on the vault: the principal reads those secrets and no other).')
param keyVaultSecretRoles string[]

@description('Names of the Azure OpenAI accounts, one per region.')
param openAiAccountNames string[]

@description('Roles on each Azure OpenAI account.')
param openAiRoles string[]

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Roles on Application Insights.')
param appInsightsRoles string[]

// Built-in role definition IDs (the same in every tenant).
var roleIds = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6'
  'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  'Cognitive Services OpenAI User': '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' existing = {
  name: keyVaultName
}

resource openAi 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = [
  for name in openAiAccountNames: {
    name: name
  }
]

resource secrets 'Microsoft.KeyVault/vaults/secrets@2025-05-01' existing = [
  for name in keyVaultSecretNames: {
    parent: vault
    name: name
  }
]

// Each role on each secret: one assignment per pair.
var secretGrants = flatten(map(range(0, length(keyVaultSecretNames)), secret => map(keyVaultSecretRoles, role => { secret: secret, role: role })))

// Each role on each account: one assignment per pair.
var openAiGrants = flatten(map(range(0, length(openAiAccountNames)), account => map(openAiRoles, role => { account: account, role: role })))

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource storageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    name: guid(storage.id, principalId, roleIds[role])
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
      principalId: principalId
      principalType: principalType
    }
  }
]

resource keyVaultAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in keyVaultRoles: {
    name: guid(vault.id, principalId, roleIds[role])
    scope: vault
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
      principalId: principalId
      principalType: principalType
    }
  }
]

resource secretAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for grant in secretGrants: {
    name: guid(secrets[grant.secret].id, principalId, roleIds[grant.role])
    scope: secrets[grant.secret]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[grant.role])
      principalId: principalId
      principalType: principalType
    }
  }
]

resource openAiAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for grant in openAiGrants: {
    name: guid(openAi[grant.account].id, principalId, roleIds[grant.role])
    scope: openAi[grant.account]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[grant.role])
      principalId: principalId
      principalType: principalType
    }
  }
]

resource appInsightsAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in appInsightsRoles: {
    name: guid(appInsights.id, principalId, roleIds[role])
    scope: appInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds[role])
      principalId: principalId
      principalType: principalType
    }
  }
]
