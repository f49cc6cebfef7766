// The Azure OpenAI account and its image model deployments. In keyless (entra) mode the account
// refuses api-keys altogether.

@description('Name of the Azure OpenAI account; also its custom subdomain.')
param name string

@description('Azure region: one where the chosen models are offered.')
param location string

@description('Tags for the account.')
param tags object

@description('key: api-key from Key Vault; entra: keyless, local auth disabled.')
@allowed(['key', 'entra'])
param authMode string

@description('SKU of the dall-e-3 deployment.')
@allowed(['Standard', 'GlobalStandard'])
param dallE3SkuName string

@description('Capacity of the dall-e-3 deployment (images per minute).')
@minValue(1)
param dallE3Capacity int

@description('Also deploy gpt-image-1 (GlobalStandard; needs approved access).')
param deployGptImage1 bool

@description('Capacity of the gpt-image-1 deployment.')
@minValue(1)
param gptImage1Capacity int

var dallE3 = {
  name: 'dall-e-3'
  model: { format: 'OpenAI', name: 'dall-e-3', version: '3.0' }
  sku: { name: dallE3SkuName, capacity: dallE3Capacity }
}
var gptImage1 = {
  name: 'gpt-image-1'
  model: { format: 'OpenAI', name: 'gpt-image-1', version: '2025-04-15' }
  sku: { name: 'GlobalStandard', capacity: gptImage1Capacity }
}
var modelDeployments = deployGptImage1 ? [dallE3, gptImage1] : [dallE3]

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
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
resource deployments 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = [
  for deployment in modelDeployments: {
    parent: account
    name: deployment.name
    sku: deployment.sku
    properties: {
      model: deployment.model
    }
  }
]

output name string = account.name
output endpoint string = account.properties.endpoint
// AZURE_OPENAI_DEPLOYMENTS: deployment=model pairs.
output deploymentsSetting string = join(map(modelDeployments, d => '${d.name}=${d.model.name}'), ',')
