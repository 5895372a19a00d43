// Alerts an administrator acts on: runs that fail, queue messages that end in a poison queue, and a deletion
// guard that fired. Each is a log search alert rule over Application Insights; all notify one action group that
// mails the administrator. The queries match the log messages the app writes (tests/infra/test_alerts.py keeps
// them in step with shared/).
param applicationInsightsName string
param location string = resourceGroup().location
param tags object = {}
param namePrefix string

@description('Administrator email that receives the alerts. Empty: the rules exist (visible in the portal), nobody is mailed.')
param alertEmail string = ''

@minValue(1)
@description('Failed invocations of one function within 15 minutes that raise the failed-runs alert. Retries after throttling fail once and then succeed, so a single failure is not worth a mail.')
param failedInvocationThreshold int = 3

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource administrators 'Microsoft.Insights/actionGroups@2022-04-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-administrators'
  // Action groups are global resources.
  location: 'Global'
  tags: tags
  properties: {
    enabled: true
    groupShortName: 'oa-sync'
    emailReceivers: [
      {
        name: 'administrator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroups = empty(alertEmail) ? [] : [administrators.id]

// Each rule counts the rows its query returns in the window and fires when the count exceeds its threshold.
// Severity: 0 critical .. 4 verbose.
var rules = [
  {
    name: 'failed-runs'
    severity: 2
    description: 'A function failed repeatedly: a timer run, a mailbox worker or an admin call raised. The Runs table (python -m shared runs) names the error.'
    query: 'requests | where success == false'
    // Counted per function: one failing worker does not hide behind a healthy timer.
    dimensions: [{ name: 'operation_Name', operator: 'Include', values: ['*'] }]
    threshold: failedInvocationThreshold - 1
  }
  {
    name: 'poison-messages'
    severity: 1
    description: 'A queue message went to a poison queue after every attempt failed: a mailbox is not being synced. python -m shared status lists the poison queues; fix the cause, then resync the user.'
    query: 'traces | where message in ("export message poisoned", "export-record message poisoned", "import message poisoned")'
    dimensions: []
    threshold: 0
  }
  {
    name: 'deletion-guard'
    severity: 1
    description: 'A deletion guard fired: a run would have deleted more events (or an import pass more bookings) than allowed, and deleted none. Check OpenAir and UserMappings before raising MaxDeletionsPerRun or MaxImportDeletionsPerPass.'
    query: 'traces | where message in ("deletion budget exceeded", "import deletion budget exceeded")'
    dimensions: []
    threshold: 0
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: 'OpenAir sync: ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [applicationInsights.id]
      evaluationFrequency: 'PT15M'
      windowSize: 'PT15M'
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            dimensions: rule.dimensions
            operator: 'GreaterThan'
            threshold: rule.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      // Resolved by itself once a window passes without the condition, so the next occurrence mails again.
      autoMitigate: true
      actions: {
        actionGroups: actionGroups
      }
    }
  }
]

output ruleNames array = [for (rule, i) in rules: alertRules[i].name]
output actionGroupId string = empty(alertEmail) ? '' : administrators.id
