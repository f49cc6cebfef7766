// Alert rules on what needs a person: failed requests, a run of 429s from Azure OpenAI, and any
// message parked on the poison queue. With an e-mail address they notify through an action group;
// without one they still fire and show in the portal's Alerts.

@description('Azure region of the Log Analytics workspace (the log alert lives beside it).')
param location string

@description('Tags for the alert rules and the action group.')
param tags object

@description('Prefix of every alert rule name.')
param namePrefix string

@description('E-mail address that alerts notify; empty: no action group, alerts show in the portal only.')
param alertEmail string

@description('Resource ID of Application Insights (failed requests).')
param appInsightsId string

@description('Resource IDs of the Azure OpenAI accounts, one per region: each gets its own 429 rule (the AzureOpenAIRequests metric, StatusCode 429).')
param openAiAccountIds string[]

@description('Resource ID of the Log Analytics workspace that holds StorageQueueLogs.')
param logAnalyticsWorkspaceId string

@description('Name of the poison queue (src/lib/jobs/queues.ts QUEUES.poison).')
param poisonQueueName string

@description('Alert when Azure OpenAI refuses more than this many calls with 429 within 5 minutes.')
@minValue(0)
param throttledCallsThreshold int

@description('Alert when more than this many requests fail within 5 minutes.')
@minValue(0)
param failedRequestsThreshold int

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-email'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'imagegen'
    enabled: true
    emailReceivers: [{ name: 'email', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

var actionGroupIds = empty(alertEmail) ? [] : [actionGroup.id]

resource failedRequests 'Microsoft.Insights/metricAlerts@2026-01-01' = {
  name: '${namePrefix}-failed-requests'
  location: 'global'
  tags: tags
  properties: {
    description: 'Requests to the function app failed.'
    severity: 2
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'failed'
          metricNamespace: 'microsoft.insights/components'
          metricName: 'requests/failed'
          operator: 'GreaterThan'
          threshold: failedRequestsThreshold
          timeAggregation: 'Count'
        }
      ]
    }
    actions: map(actionGroupIds, id => { actionGroupId: id })
  }
}

// One rule per account: a metric alert on one resource names the account that runs short. The first
// keeps the name a one-region deployment has always had. AzureOpenAIRequests split by StatusCode is
// what Azure OpenAI reports its answers in (BlockedCalls is the legacy Cognitive Services metric).
resource throttled 'Microsoft.Insights/metricAlerts@2026-01-01' = [
  for (accountId, i) in openAiAccountIds: {
    name: i == 0 ? '${namePrefix}-openai-429' : '${namePrefix}-openai-429-${i}'
    location: 'global'
    tags: tags
    properties: {
      description: 'An Azure OpenAI account answered a run of 429s: its deployments need more quota, or another region.'
      severity: 2
      enabled: true
      scopes: [accountId]
      evaluationFrequency: 'PT1M'
      windowSize: 'PT5M'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'throttled'
            metricNamespace: 'Microsoft.CognitiveServices/accounts'
            metricName: 'AzureOpenAIRequests'
            dimensions: [{ name: 'StatusCode', operator: 'Include', values: ['429'] }]
            operator: 'GreaterThan'
            threshold: throttledCallsThreshold
            timeAggregation: 'Total'
          }
        ]
      }
      actions: map(actionGroupIds, id => { actionGroupId: id })
    }
  }
]

// Both ways onto the poison queue write a PutMessage: the worker parking a request it can never
// serve, and the Functions host after the last failed attempt.
resource poison 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-poison-queue'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    description: 'A message was put on ${poisonQueueName}: a request that can never be served.'
    severity: 2
    enabled: true
    scopes: [logAnalyticsWorkspaceId]
    // Every 15 minutes: the cheapest frequency of a log search alert rule, and a parked message waits.
    // The workspace is as new as the rule on a first deployment: StorageQueueLogs does not exist
    // until the first queue log arrives, and validating the query then fails (SEM0100, Azure/bicep#11378).
    skipQueryValidation: true
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'StorageQueueLogs | where OperationName == "PutMessage" and Uri has "/${poisonQueueName}/messages"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: actionGroupIds }
  }
}
