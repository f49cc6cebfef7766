// Everything the image generation app needs in one resource group: `azd up`, or
// `az deployment group create -f infra/main.bicep`. No key leaves Azure OpenAI except into Key
// Vault, and every role is scoped to the one resource it is for.
targetScope = 'resourceGroup'

@description('azd environment name: part of every resource name and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of every resource but the Azure OpenAI account. Must offer Flex Consumption.')
@minLength(1)
param location string = resourceGroup().location

@description('Azure region of the Azure OpenAI account, where the models are offered. Empty: location.')
param openAiLocation string = ''

@description('key: the app reads an api-key from Key Vault. entra: keyless; the account refuses keys.')
@allowed(['key', 'entra'])
param openAiAuthMode string = 'key'

@description('SKU of the dall-e-3 deployment.')
@allowed(['Standard', 'GlobalStandard'])
param dallE3SkuName string = 'Standard'

@description('Capacity of the dall-e-3 deployment, in the quota units of its SKU.')
@minValue(1)
param dallE3Capacity int = 1

@description('Also deploy gpt-image-1 (GlobalStandard; the subscription needs approved access).')
param deployGptImage1 bool = false

@description('Capacity of the gpt-image-1 deployment, in quota units.')
@minValue(1)
param gptImage1Capacity int = 1

@description('Node.js major version the app runs on.')
@allowed(['20', '22'])
param nodeVersion string = '22'

@description('Memory of each function app instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most instances the function app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Days a deleted Key Vault or secret stays recoverable (purge protection holds it that long). Fixed once the vault exists.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 7

@description('Object ID of a developer (azd sets AZURE_PRINCIPAL_ID) who gets data-plane roles to run the app locally against Azure. Empty: none.')
param principalId string = ''

@description('Kind of principalId: User, or ServicePrincipal when a pipeline deploys.')
@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(resourceGroup().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var keyMode = openAiAuthMode == 'key'

var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
// The names the code uses (src/lib/settings.ts defaults, src/lib/queues.ts).
var imagesContainerName = 'images'
var jobsContainerName = 'jobs'
var keySecretName = 'azure-openai-api-key'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    appInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containerNames: [imagesContainerName, jobsContainerName, deploymentContainerName]
    queueNames: ['image-requests', 'image-results', 'image-requests-poison']
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  params: {
    name: '${abbrs.cognitiveServicesAccounts}${resourceToken}'
    location: empty(openAiLocation) ? location : openAiLocation
    tags: tags
    authMode: openAiAuthMode
    dallE3SkuName: dallE3SkuName
    dallE3Capacity: dallE3Capacity
    deployGptImage1: deployGptImage1
    gptImage1Capacity: gptImage1Capacity
  }
}

// Key mode only: in entra mode the account has no usable key to copy.
module openAiKey 'modules/openai-key-secret.bicep' = if (keyMode) {
  name: 'openai-key-secret'
  params: {
    openAiAccountName: openAi.outputs.name
    keyVaultName: keyVault.outputs.name
    secretName: keySecretName
  }
}

// The app's identity: host storage (blobs incl. the deployment package, queues, tables), the key
// (key mode) or the model (entra mode), and telemetry.
module appRoles 'modules/roles.bicep' = {
  name: 'app-roles'
  params: {
    principalId: identity.outputs.principalId
    principalType: 'ServicePrincipal'
    storageAccountName: storage.outputs.name
    storageRoles: ['Storage Blob Data Owner', 'Storage Queue Data Contributor', 'Storage Table Data Contributor']
    keyVaultName: keyVault.outputs.name
    keyVaultRoles: keyMode ? ['Key Vault Secrets User'] : []
    openAiAccountName: openAi.outputs.name
    openAiRoles: keyMode ? [] : ['Cognitive Services OpenAI User']
    appInsightsName: monitoring.outputs.appInsightsName
    appInsightsRoles: ['Monitoring Metrics Publisher']
  }
}

// The developer: what `npm start` against Azure needs, and rotating the secret by hand.
module developerRoles 'modules/roles.bicep' = if (!empty(principalId)) {
  name: 'developer-roles'
  params: {
    principalId: principalId
    principalType: principalType
    storageAccountName: storage.outputs.name
    storageRoles: ['Storage Blob Data Owner', 'Storage Queue Data Contributor']
    keyVaultName: keyVault.outputs.name
    keyVaultRoles: ['Key Vault Secrets Officer']
    openAiAccountName: openAi.outputs.name
    openAiRoles: ['Cognitive Services OpenAI User']
    appInsightsName: monitoring.outputs.appInsightsName
    appInsightsRoles: []
  }
}

// Exactly the settings src/lib/settings.ts reads (SETTING_NAMES) and the host reads
// (HOST_SETTING_NAMES); test/infra.test.ts holds the two together. Never AZURE_OPENAI_API_KEY,
// never an AzureWebJobsStorage connection string.
var appSettings = {
  AZURE_OPENAI_ENDPOINT: openAi.outputs.endpoint
  AZURE_OPENAI_API_VERSION: '2025-04-01-preview'
  AZURE_OPENAI_DEPLOYMENTS: openAi.outputs.deploymentsSetting
  AZURE_OPENAI_DEFAULT_DEPLOYMENT: 'dall-e-3'
  AZURE_OPENAI_AUTH: openAiAuthMode
  AZURE_OPENAI_TIMEOUT_SECONDS: '100'
  AZURE_OPENAI_MAX_RETRIES: '2'
  // Empty counts as unset: entra mode reads no key.
  KEY_VAULT_URI: keyMode ? keyVault.outputs.uri : ''
  KEY_VAULT_SECRET_NAME: keySecretName
  KEY_CACHE_TTL_SECONDS: '3600'
  AZURE_CLIENT_ID: identity.outputs.clientId
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  IMAGES_CONTAINER: imagesContainerName
  IMAGE_URL_TTL_MINUTES: '60'
  JOBS_CONTAINER: jobsContainerName
  IDEMPOTENCY_TTL_HOURS: '24'
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.outputs.clientId}'
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    nodeVersion: nodeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: appSettings
  }
  // The host reaches storage, the key and telemetry as soon as it starts: grant first.
  dependsOn: [appRoles, openAiKey]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = subscription().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output AZURE_OPENAI_ENDPOINT string = openAi.outputs.endpoint
output AZURE_OPENAI_ACCOUNT_NAME string = openAi.outputs.name
output AZURE_OPENAI_AUTH string = openAiAuthMode
output AZURE_OPENAI_DEPLOYMENTS string = openAi.outputs.deploymentsSetting
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URI string = keyVault.outputs.uri
output KEY_VAULT_SECRET_NAME string = keySecretName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
