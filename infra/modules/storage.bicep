// The app's one storage account: host storage (AzureWebJobsStorage), the images and jobs the code
// keeps, the queues of the async path, and the Flex Consumption deployment package. No account
// key works on it: every caller signs in with Entra ID. A lifecycle policy cleans up after the app,
// and writes and deletes are logged to Log Analytics.

@description('Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the account.')
param tags object

@description('Blob containers to create: the app\'s own and the deployment package\'s.')
param containerNames string[]

@description('Queues to create: the names in src/lib/jobs/queues.ts.')
param queueNames string[]

@description('Tables to create: backend state, caller keys, usage ledger, webhook subscriptions and the gallery index of kept images (the *_TABLE settings).')
param tableNames string[]

@description('Container of job state and Idempotency-Key entries (JOBS_CONTAINER).')
param jobsContainerName string

@description('Days after its last change that a job or an Idempotency-Key entry is deleted.')
@minValue(1)
@maxValue(3650)
param jobRetentionDays int

@description('Container of the images and their records (IMAGES_CONTAINER).')
param imagesContainerName string

@description('Days after upload that images move to the Cool tier; 0 keeps them Hot.')
@minValue(0)
@maxValue(3650)
param imagesCoolAfterDays int

@description('Resource ID of the Log Analytics workspace that gets the blob and queue logs.')
param logAnalyticsWorkspaceId string

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    // The portal then browses data with the signed-in user's roles, as the app does.
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: { publicAccess: 'None' }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-06-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// A prefix is container/blob-prefix: "jobs/" is the whole jobs container (jobs/<id>.json and
// idempotency/<hash>.json inside it), and nothing in the images or deployment containers.
var deleteJobState = {
  enabled: true
  name: 'delete-job-state'
  type: 'Lifecycle'
  definition: {
    filters: { blobTypes: ['blockBlob'], prefixMatch: ['${jobsContainerName}/'] }
    actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: jobRetentionDays } } }
  }
}
var coolImages = {
  enabled: true
  name: 'images-to-cool'
  type: 'Lifecycle'
  definition: {
    filters: { blobTypes: ['blockBlob'], prefixMatch: ['${imagesContainerName}/'] }
    actions: { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: imagesCoolAfterDays } } }
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-06-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: { rules: imagesCoolAfterDays > 0 ? [deleteJobState, coolImages] : [deleteJobState] }
  }
}

// Writes and deletes only: reads are most of the traffic (the host polls its queues every few
// seconds while it runs), and logging them would cost more at rest than the rest together. The
// poison-queue alert reads PutMessage from StorageQueueLogs.
var storageLogs = [
  { category: 'StorageWrite', enabled: true }
  { category: 'StorageDelete', enabled: true }
]

// The linter offers 2016-09-01, the legacy API of one 'service' setting without category groups.
#disable-next-line use-recent-api-versions
resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: storageLogs
  }
}

// The linter offers 2016-09-01, the legacy API of one 'service' setting without category groups.
#disable-next-line use-recent-api-versions
resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: storageLogs
  }
}

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
