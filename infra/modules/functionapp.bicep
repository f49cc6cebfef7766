// The function app on a Flex Consumption plan. It runs as the user-assigned identity, pulls its
// package from a blob container with that identity, and takes its app settings from main.bicep.
// Flex Consumption sets the runtime here (functionAppConfig.runtime), so FUNCTIONS_WORKER_RUNTIME
// and FUNCTIONS_EXTENSION_VERSION are not app settings.

@description('Name of the function app.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region: one that offers Flex Consumption.')
param location string

@description('Tags for the plan and the app; the app also gets azd-service-name.')
param tags object

@description('Resource ID of the user-assigned identity the app runs as.')
param identityId string

@description('Blob endpoint of the storage account that holds the deployment package.')
param storageBlobEndpoint string

@description('Container the deployment package goes to.')
param deploymentContainerName string

@description('Node.js major version.')
@allowed(['22', '24'])
param nodeVersion string

@description('Memory of each instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('App settings: names and values.')
param appSettings object

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  // azd finds the app to deploy `api` to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

// Basic (publishing) credentials off: deployments sign in with Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

resource settings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: app
  name: 'appsettings'
  properties: appSettings
}

output name string = app.name
output url string = 'https://${app.properties.defaultHostName}'

// No authsettingsV2: built-in authentication is not supported on Flex Consumption, and nothing here
// may rely on the platform stripping x-ms-client-principal. The app verifies Entra ID tokens itself
// (ENTRA_TENANT_ID, ENTRA_AUDIENCE in its app settings).
