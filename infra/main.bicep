// Everything the image generation app needs in one resource group: `azd up`, the portal's Deploy
// to Azure button (infra/main.json, the compiled form of this file), or
// `az deployment group create -f infra/main.bicep`. No key leaves Azure OpenAI except into Key
// Vault, and every role is scoped to the one resource it is for.
targetScope = 'resourceGroup'

import { modelDeployment } from 'modules/openai.bicep'

@description('azd environment name: part of every resource name and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

// any(): the resource group's region is only known, and checked against the list, at deployment.
@description('Azure region of every resource but the Azure OpenAI accounts: one that offers Flex Consumption (the list of the azd Functions quickstart, Azure-Samples/functions-quickstart-typescript-azd).')
@minLength(1)
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
  'eastus2euap'
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
param location string = any(resourceGroup().location)

// No default, so that azd asks, listing only regions with quota for gpt-image-2's default capacity
// (usageName: 2 units). The regions that offer gpt-image-2 (and gpt-image-1.5, gpt-image-1-mini) in
// Global Standard: Learn's region tables, 2026-04-30.
@description('Azure region of the Azure OpenAI account: one of the five that offer gpt-image-2 in Global Standard (Learn, 2026-04-30).')
@allowed(['eastus2', 'polandcentral', 'swedencentral', 'uaenorth', 'westus3'])
@metadata({ azd: { type: 'location', usageName: ['OpenAI.GlobalStandard.gpt-image-2,2'] } })
param openAiLocation string

@description('One Azure OpenAI region: its account gets the same model deployments as every other.')
type openAiRegion = {
  @description('Azure region of the account: one that offers gpt-image-2 in Global Standard (Learn, 2026-04-30).')
  location: 'eastus2' | 'polandcentral' | 'swedencentral' | 'uaenorth' | 'westus3'

  @description('1 is used first; a higher number only while every account of the lower ones is throttled or failing. Equal numbers share the traffic.')
  @minValue(1)
  @maxValue(100)
  priority: int
}

@description('Azure OpenAI regions, one account in each, with the same model deployments: more quota and no single region to depend on. Default: openAiLocation alone.')
@minLength(1)
param openAiRegions openAiRegion[] = [{ location: openAiLocation, priority: 1 }]

@description('key: the app reads an api-key from Key Vault. entra: keyless; the account refuses keys.')
@allowed(['key', 'entra'])
param openAiAuthMode string = 'key'

@description('Capacity of the gpt-image-2 deployment (GlobalStandard), in quota units of 3 requests per minute each: the default 2 units, a subscription\'s default quota, buy 6 RPM.')
@minValue(1)
param gptImage2Capacity int = 2

@description('Also deploy gpt-image-1.5 (GlobalStandard). It needs an approved access application (Learn, 2026-04-17): without one, the deployment fails.')
param deployGptImage15 bool = false

@description('Capacity of the gpt-image-1.5 deployment, in quota units.')
@minValue(1)
param gptImage15Capacity int = 1

@description('Also deploy gpt-image-1-mini (GlobalStandard), the cheapest model. It needs an approved access application (Learn, 2026-04-17): without one, the deployment fails.')
param deployGptImage1Mini bool = false

@description('Capacity of the gpt-image-1-mini deployment, in quota units.')
@minValue(1)
param gptImage1MiniCapacity int = 1

@description('Node.js major version the app runs on: 22 or 24 (Node 20 left support on 2026-04-30).')
@allowed(['22', '24'])
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

// Purge protection stays on: nobody, not even an owner, can destroy the secrets early. The price is
// that a deleted vault keeps its name for keyVaultSoftDeleteRetentionInDays, and `azd down --purge`
// cannot free it; a new suffix builds the environment again at once.
@description('Appended to the Key Vault name (kv-<token><suffix>). Purge protection keeps a deleted vault, and its name, for keyVaultSoftDeleteRetentionInDays, even after `azd down --purge`: to build the environment again sooner, set a new suffix such as -2 (the app then gets a new, empty vault; the old one is purged when its retention ends). Empty: no suffix.')
@maxLength(8)
param keyVaultNameSuffix string = ''

@description('Days after its last change that a job\'s state or an Idempotency-Key entry is deleted.')
@minValue(1)
@maxValue(3650)
param jobRetentionDays int = 7

@description('Days after upload that images move to the Cool tier; 0 keeps them Hot.')
@minValue(0)
@maxValue(3650)
param imagesCoolAfterDays int = 0

@description('USD a caller may spend per UTC day, unless its caller key has a budget of its own (CALLER_DAILY_BUDGET_USD). Empty: no budget.')
param callerDailyBudgetUsd string = ''

@description('USD the whole app may spend per UTC day (APP_DAILY_BUDGET_USD). Empty: no budget.')
param appDailyBudgetUsd string = ''

@description('A price table to replace the shipped one, as JSON (PRICE_TABLE; format: src/lib/core/prices.json). Empty: the shipped table.')
param priceTable string = ''

@description('USD held on the budgets per image of a model (or size) the price table has no price for (UNPRICED_IMAGE_ESTIMATE_USD, with ALLOW_UNPRICED_MODELS). Empty: such requests are refused with 403 PriceNotFound.')
param unpricedImageEstimateUsd string = ''

@description('The key that signs webhook deliveries (WEBHOOK_SIGNING_SECRET_NAME in Key Vault); receivers verify with it. azd passes the vault\'s current one (a random one the first time). Empty: a key derived from the storage account\'s key1, the same on every redeploy from the portal or the CLI, so receivers keep working.')
@secure()
param webhookSigningKey string = ''

@description('E-mail address that alerts notify. Empty: alerts show in the portal only.')
param alertEmail string = ''

@description('Client ID of an Entra ID app registration whose access tokens (Authorization: Bearer) sign people in: the app verifies them itself (ENTRA_TENANT_ID, ENTRA_AUDIENCE), as Flex Consumption has no App Service authentication. Requests without one still reach the app, which authenticates each (keys for API callers). Empty: off; the studio then takes a pasted key.')
param appServiceAuthClientId string = ''

@description('Object ID of a developer who gets data-plane roles to run the app locally against Azure. Defaults to whoever deploys; empty: nobody.')
param principalId string = deployer().objectId

@description('Give principalId (by default whoever deploys) the data-plane roles: blobs, queues and tables, Key Vault Secrets Officer, Cognitive Services OpenAI User. Off for a production deployment where nobody reads the data as themselves.')
param grantDeveloperRoles bool = true

@description('Kind of principalId: User, or ServicePrincipal when a pipeline deploys.')
@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(resourceGroup().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var keyMode = openAiAuthMode == 'key'

// Names are known before anything is created, so What-If sees the role assignments in full.
var names = {
  identity: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
  logAnalytics: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
  appInsights: '${abbrs.insightsComponents}${resourceToken}'
  storage: '${abbrs.storageStorageAccounts}${resourceToken}'
  keyVault: '${abbrs.keyVaultVaults}${resourceToken}${keyVaultNameSuffix}'
  openAi: '${abbrs.cognitiveServicesAccounts}${resourceToken}'
  plan: '${abbrs.webServerFarms}${resourceToken}'
  functionApp: '${abbrs.webSitesFunctions}api-${resourceToken}'
  alerts: 'alert-${resourceToken}'
}
var deploymentContainerName = 'app-package-${resourceToken}'
// The names the code uses (src/lib/platform/settings.ts defaults, src/lib/jobs/queues.ts).
var imagesContainerName = 'images'
var jobsContainerName = 'jobs'
var queueNames = { requests: 'image-requests', results: 'image-results', poison: 'image-requests-poison', webhooks: 'image-webhooks', thumbnails: 'image-thumbnails' }
var tableNames = { backendState: 'backendstate', callerKeys: 'callerkeys', usage: 'usage', webhooks: 'webhooks', imageIndex: 'imageindex' }
var keySecretName = 'azure-openai-api-key'
var webhookSecretName = 'webhook-signing-key'

// The models, each one a row of src/lib/core/models.ts (test/build/infra.test.ts holds the two together).
// gpt-image-2 always: it also serves requests that name a retired model.
var successorDeployment = 'gpt-image-2'
var modelDeployments modelDeployment[] = [
  { name: 'gpt-image-2', model: 'gpt-image-2', version: '2026-04-21', sku: 'GlobalStandard', capacity: gptImage2Capacity }
  ...(deployGptImage15 ? [{ name: 'gpt-image-1.5', model: 'gpt-image-1.5', version: '2025-12-16', sku: 'GlobalStandard', capacity: gptImage15Capacity }] : [])
  ...(deployGptImage1Mini ? [{ name: 'gpt-image-1-mini', model: 'gpt-image-1-mini', version: '2025-10-06', sku: 'GlobalStandard', capacity: gptImage1MiniCapacity }] : [])
]
// AZURE_OPENAI_DEPLOYMENTS: deployment=model pairs.
var deploymentsSetting = join(map(modelDeployments, d => '${d.name}=${d.model}'), ',')
// One account per region. The first keeps the names a one-region deployment has always had.
var openAiAccounts = [
  for (region, i) in openAiRegions: {
    name: i == 0 ? names.openAi : '${names.openAi}-${region.location}'
    location: region.location
    priority: region.priority
    secretName: i == 0 ? keySecretName : '${keySecretName}-${region.location}'
  }
]

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    containerNames: [imagesContainerName, jobsContainerName, deploymentContainerName]
    queueNames: [queueNames.requests, queueNames.results, queueNames.poison, queueNames.webhooks, queueNames.thumbnails]
    tableNames: [tableNames.backendState, tableNames.callerKeys, tableNames.usage, tableNames.webhooks, tableNames.imageIndex]
    jobsContainerName: jobsContainerName
    jobRetentionDays: jobRetentionDays
    imagesContainerName: imagesContainerName
    imagesCoolAfterDays: imagesCoolAfterDays
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: names.keyVault
    location: location
    tags: tags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    webhookSecretName: webhookSecretName
    webhookSigningKey: webhookSigningKey
    storageAccountName: names.storage
  }
  dependsOn: [storage]
}

module openAi 'modules/openai.bicep' = [
  for (account, i) in openAiAccounts: {
    name: i == 0 ? 'openai' : 'openai-${account.location}'
    params: {
      name: account.name
      location: account.location
      tags: tags
      authMode: openAiAuthMode
      deployments: modelDeployments
      logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    }
  }
]

// Key mode only: in entra mode the accounts have no usable key to copy. Each key its own secret.
module openAiKey 'modules/openai-key-secret.bicep' = [
  for (account, i) in openAiAccounts: if (keyMode) {
    name: i == 0 ? 'openai-key-secret' : 'openai-key-secret-${account.location}'
    params: {
      openAiAccountName: account.name
      keyVaultName: names.keyVault
      secretName: account.secretName
    }
    dependsOn: [openAi, keyVault]
  }
]

// AZURE_OPENAI_BACKENDS: every deployment of every account, with its region's priority, and its
// account's secret in key mode (entra mode: AZURE_OPENAI_AUTH applies to all).
module backends 'modules/backends-setting.bicep' = {
  name: 'backends-setting'
  params: {
    backendsPerAccount: [
      for (account, i) in openAiAccounts: map(modelDeployments, d => {
        name: '${account.location}-${d.name}'
        endpoint: openAi[i].outputs.endpoint
        deployment: d.name
        model: d.model
        region: account.location
        priority: account.priority
        ...(keyMode ? { keyVaultSecretName: account.secretName } : {})
      })
    ]
  }
}

// The app's identity: host storage (blobs incl. the deployment package, queues, tables), the secrets
// it reads and no other (the webhook signing key; each Azure OpenAI key in key mode), the model
// (entra mode), and telemetry.
module appRoles 'modules/roles.bicep' = {
  name: 'app-roles'
  params: {
    // Known only once the identity exists. The assignment names are guid(scope, principalId, role),
    // as they have been since the first deployment: renaming them would collide with the
    // assignments already there (RoleAssignmentExists), so What-If short-circuits on these few.
    #disable-next-line what-if-short-circuiting
    principalId: identity.outputs.principalId
    principalType: 'ServicePrincipal'
    storageAccountName: names.storage
    storageRoles: ['Storage Blob Data Owner', 'Storage Queue Data Contributor', 'Storage Table Data Contributor']
    keyVaultName: names.keyVault
    keyVaultRoles: []
    keyVaultSecretNames: [webhookSecretName, ...(keyMode ? map(openAiAccounts, a => a.secretName) : [])]
    keyVaultSecretRoles: ['Key Vault Secrets User']
    openAiAccountNames: map(openAiAccounts, a => a.name)
    openAiRoles: keyMode ? [] : ['Cognitive Services OpenAI User']
    appInsightsName: names.appInsights
    appInsightsRoles: ['Monitoring Metrics Publisher']
  }
  // The secrets must exist before a role is assigned on them.
  dependsOn: [storage, keyVault, openAi, openAiKey, monitoring]
}

// The developer: what `npm start` against Azure needs, rotating the secret by hand, and
// `npm run backfill` (the images and the gallery's index table).
module developerRoles 'modules/roles.bicep' = if (grantDeveloperRoles && !empty(principalId)) {
  name: 'developer-roles'
  params: {
    principalId: principalId
    principalType: principalType
    storageAccountName: names.storage
    storageRoles: ['Storage Blob Data Owner', 'Storage Queue Data Contributor', 'Storage Table Data Contributor']
    keyVaultName: names.keyVault
    keyVaultRoles: ['Key Vault Secrets Officer']
    keyVaultSecretNames: []
    keyVaultSecretRoles: []
    openAiAccountNames: map(openAiAccounts, a => a.name)
    openAiRoles: ['Cognitive Services OpenAI User']
    appInsightsName: names.appInsights
    appInsightsRoles: []
  }
  dependsOn: [storage, keyVault, openAi, monitoring]
}

// The settings src/lib/platform/settings.ts reads that have no code default or that only the deployment
// knows, and the ones the host reads (HOST_SETTING_NAMES); test/build/infra.test.ts checks them on
// infra/main.json. Settings whose code default is right are left out (AZURE_OPENAI_API_VERSION,
// the timeouts and TTLs). Never AZURE_OPENAI_API_KEY, never an AzureWebJobsStorage connection string.
var appSettings = {
  AZURE_OPENAI_BACKENDS: backends.outputs.value
  AZURE_OPENAI_DEPLOYMENTS: deploymentsSetting
  AZURE_OPENAI_DEFAULT_DEPLOYMENT: successorDeployment
  AZURE_OPENAI_SUCCESSOR_DEPLOYMENT: successorDeployment
  AZURE_OPENAI_AUTH: openAiAuthMode
  // Both modes: the webhook signing key is a secret; in entra mode no Azure OpenAI key is read.
  KEY_VAULT_URI: keyVault.outputs.uri
  KEY_VAULT_SECRET_NAME: keySecretName
  WEBHOOK_SIGNING_SECRET_NAME: webhookSecretName
  AZURE_CLIENT_ID: identity.outputs.clientId
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  IMAGES_CONTAINER: imagesContainerName
  JOBS_CONTAINER: jobsContainerName
  BACKEND_STATE_TABLE: tableNames.backendState
  CALLER_KEYS_TABLE: tableNames.callerKeys
  USAGE_TABLE: tableNames.usage
  WEBHOOKS_TABLE: tableNames.webhooks
  IMAGE_INDEX_TABLE: tableNames.imageIndex
  // Entra ID tokens, verified by the app: the tenant deployed to, the registration's client ID and App ID URI.
  ENTRA_TENANT_ID: empty(appServiceAuthClientId) ? '' : tenant().tenantId
  ENTRA_AUDIENCE: empty(appServiceAuthClientId) ? '' : '${appServiceAuthClientId},api://${appServiceAuthClientId}'
  ENTRA_AUTHORITY_HOST: environment().authentication.loginEndpoint
  // Empty counts as unset: no budget, the shipped price table.
  CALLER_DAILY_BUDGET_USD: callerDailyBudgetUsd
  APP_DAILY_BUDGET_USD: appDailyBudgetUsd
  PRICE_TABLE: priceTable
  // One decision: a default estimate admits unpriced models; none refuses them.
  ALLOW_UNPRICED_MODELS: empty(unpricedImageEstimateUsd) ? 'false' : 'true'
  UNPRICED_IMAGE_ESTIMATE_USD: unpricedImageEstimateUsd
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.outputs.clientId}'
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: names.functionApp
    planName: names.plan
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

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    namePrefix: names.alerts
    alertEmail: alertEmail
    appInsightsId: monitoring.outputs.appInsightsId
    openAiAccountIds: [for (account, i) in openAiAccounts: openAi[i].outputs.id]
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    poisonQueueName: queueNames.poison
    throttledCallsThreshold: 5
    // One failed request is not worth a page; a run of them is.
    failedRequestsThreshold: 5
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = subscription().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
// The first region's account: a local run against Azure calls it alone.
output AZURE_OPENAI_ENDPOINT string = openAi[0].outputs.endpoint
output AZURE_OPENAI_ACCOUNT_NAME string = openAi[0].outputs.name
output AZURE_OPENAI_BACKENDS string = backends.outputs.value
output AZURE_OPENAI_AUTH string = openAiAuthMode
output AZURE_OPENAI_DEPLOYMENTS string = deploymentsSetting
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URI string = keyVault.outputs.uri
output KEY_VAULT_SECRET_NAME string = keySecretName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
