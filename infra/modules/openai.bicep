// One Azure OpenAI account and its image model deployments. The deployments come in as a list, so
// that main.bicep can later deploy this module once per region, each account with its own list.
// In keyless (entra) mode the account refuses api-keys altogether.

@export()
@description('One model deployment: the deployment name the app calls, the model and version behind it, and its quota.')
type modelDeployment = {
  @description('Deployment name: what AZURE_OPENAI_DEPLOYMENTS pairs with the model.')
  name: string

  @description('Model name, one of the current models in src/lib/core/models.ts.')
  model: string

  @description('Model version, as src/lib/core/models.ts gives it.')
  version: string

  @description('Deployment SKU: GlobalStandard for the image models.')
  sku: 'GlobalStandard' | 'DataZoneStandard' | 'Standard'

  @description('Capacity in the quota units of the SKU.')
  @minValue(1)
  capacity: int
}

@description('Name of the Azure OpenAI account; also its custom subdomain.')
param name string

@description('Azure region: one where every deployment\'s model is offered.')
param location string

@description('Tags for the account.')
param tags object

@description('key: api-key from Key Vault; entra: keyless, local auth disabled.')
@allowed(['key', 'entra'])
param authMode string

@description('The model deployments of this account.')
@minLength(1)
param deployments modelDeployment[]

@description('Resource ID of the Log Analytics workspace that gets the account\'s logs.')
param logAnalyticsWorkspaceId string

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: { name: 'S0' }
  properties: {
    customSubDomainName: name
    publicNetworkAccess: 'Enabled'
    disableLocalAuth: authMode == 'entra'
  }
}

// One at a time: the account rejects concurrent changes to its deployments.
@batchSize(1)
resource modelDeployments 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = [
  for deployment in deployments: {
    parent: account
    name: deployment.name
    sku: { name: deployment.sku, capacity: deployment.capacity }
    properties: {
      model: { format: 'OpenAI', name: deployment.model, version: deployment.version }
    }
  }
]

// Every request's metadata (deployment, status, duration; no prompt), and who changed the account.
// The linter offers 2016-09-01, the legacy API of one 'service' setting without category groups.
#disable-next-line use-recent-api-versions
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
  }
}

output name string = account.name
output id string = account.id
output endpoint string = account.properties.endpoint
