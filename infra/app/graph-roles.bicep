// Optional (grantGraphAppRoles): Microsoft Graph application permissions for the app's own managed identity,
// so the app signs in to Graph with no client secret or certificate at all. Uses the Microsoft Graph Bicep
// extension (bicepconfig.json). Granting app roles is a privileged Entra operation: the principal running
// `azd provision` needs Privileged Role Administrator (or an app with AppRoleAssignment.ReadWrite.All), which
// is why this is off by default (learn.microsoft.com/graph/templates/bicep/quickstart-create-bicep-interactive-mode).
// Exchange permissions (Calendars.ReadWrite, MailboxSettings.Read, Mail.Send) granted here are tenant-wide:
// follow the README's scoping procedure to narrow them with Exchange RBAC for Applications.
extension microsoftGraphV1

@description('Principal (object) id of the function app\'s user-assigned identity.')
param appPrincipalId string

// Microsoft Graph's own application id, the same in every tenant.
var graphAppId = '00000003-0000-0000-c000-000000000000'
// What the app calls: events (read/write), mailbox time zone, user lookup for mapping, run reports by mail.
var roles = ['Calendars.ReadWrite', 'MailboxSettings.Read', 'User.Read.All', 'Mail.Send']

resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

resource grants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for role in roles: {
    principalId: appPrincipalId
    resourceId: graph.id
    appRoleId: filter(graph.appRoles, appRole => appRole.value == role)[0].id
  }
]

output grantedRoles array = roles
