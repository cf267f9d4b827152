/**
 * The operationId of every documented operation, keyed by `METHOD /path/{param}`. Generated clients
 * name their methods after these, so they never change once published; a new route adds its own
 * (the OpenAPI test fails for an operation without one, and for an entry no route has).
 */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GET /healthz': 'getLiveness',
  'GET /readyz': 'getReadiness',
  'GET /metrics': 'getMetrics',
  'GET /v1/cluster': 'getCluster',
  'GET /v1/data-plane/snapshot': 'getDataPlaneSnapshot',
  'GET /v1/data-plane/changes': 'getDataPlaneChanges',
  'POST /v1/data-plane/usage': 'reportDataPlaneUsage',

  'POST /v1/consumers': 'createConsumer',
  'GET /v1/consumers': 'listConsumers',
  'GET /v1/consumers/{id}': 'getConsumer',
  'PATCH /v1/consumers/{id}': 'updateConsumer',
  'DELETE /v1/consumers/{id}': 'deleteConsumer',
  'POST /v1/consumers/{id}/rollover': 'rolloverConsumer',

  'POST /v1/keys': 'createKey',
  'GET /v1/keys': 'listKeys',
  'GET /v1/keys/{id}': 'getKey',
  'PATCH /v1/keys/{id}': 'updateKey',
  'POST /v1/keys/{id}/revoke': 'revokeKey',
  'POST /v1/keys/{id}/rotate': 'rotateKey',
  'GET /v1/keys/{id}/usage': 'getKeyUsage',
  'POST /v1/keys/verify': 'verifyKey',
  'GET /v1/forward-auth': 'forwardAuth',
  'POST /v1/forward-auth': 'forwardAuthPost',
  'GET /v1/forward-auth/{*}': 'forwardAuthEnvoyGet',
  'POST /v1/forward-auth/{*}': 'forwardAuthEnvoyPost',
  'PUT /v1/forward-auth/{*}': 'forwardAuthEnvoyPut',
  'PATCH /v1/forward-auth/{*}': 'forwardAuthEnvoyPatch',
  'DELETE /v1/forward-auth/{*}': 'forwardAuthEnvoyDelete',
  'OPTIONS /v1/forward-auth/{*}': 'forwardAuthEnvoyOptions',

  'GET /v1/self': 'getSelf',
  'POST /v1/self/rotate': 'rotateSelf',
  'POST /v1/self/successor': 'claimSelfSuccessor',

  'GET /v1/rotations': 'listRotations',
  'GET /v1/rotations/{id}': 'getRotation',
  'POST /v1/rotations/{id}/rollback': 'rollbackRotation',
  'POST /v1/rotations/{id}/complete': 'completeRotation',
  'POST /v1/rotations/{id}/extend': 'extendRotation',

  'GET /v1/rotation-policies': 'listRotationPolicies',
  'GET /v1/rotation-policies/{target}': 'getRotationPolicy',
  'PUT /v1/rotation-policies/{target}': 'setRotationPolicy',
  'DELETE /v1/rotation-policies/{target}': 'deleteRotationPolicy',

  'POST /v1/plans': 'createPlan',
  'GET /v1/plans': 'listPlans',
  'GET /v1/plans/{id}': 'getPlan',
  'PATCH /v1/plans/{id}': 'updatePlan',
  'DELETE /v1/plans/{id}': 'deletePlan',

  'GET /v1/audit': 'listAuditEvents',
  'GET /v1/audit/verify': 'verifyAuditChain',

  'POST /v1/webhooks': 'createWebhook',
  'GET /v1/webhooks': 'listWebhooks',
  'GET /v1/webhooks/{id}': 'getWebhook',
  'PATCH /v1/webhooks/{id}': 'updateWebhook',
  'DELETE /v1/webhooks/{id}': 'deleteWebhook',
  'POST /v1/webhooks/{id}/rotate-secret': 'rotateWebhookSecret',
  'GET /v1/webhooks/{id}/deliveries': 'listWebhookDeliveries',
  'POST /v1/webhooks/{id}/deliveries/{deliveryId}/redeliver': 'redeliverWebhookDelivery',

  'GET /v1/analytics/usage': 'getUsageAnalytics',
  'GET /v1/usage/export': 'exportUsage',
  'GET /v1/analytics/failures': 'getFailureAnalytics',
  'GET /v1/analytics/unknown-keys': 'getUnknownKeyAnalytics',
  'GET /v1/analytics/expiring': 'listExpiringKeys',
  'GET /v1/analytics/idle': 'listIdleKeys',
  'GET /v1/analytics/rotations/{id}': 'getRotationTraffic',

  'POST /v1/leaks/github': 'reportGithubSecretScanning',
  'POST /v1/leaks': 'reportLeak',
  'GET /v1/incidents': 'listIncidents',
  'GET /v1/incidents/{id}': 'getIncident',
  'GET /v1/leak-policies': 'listLeakPolicies',
  'GET /v1/leak-policies/{target}': 'getLeakPolicy',
  'PUT /v1/leak-policies/{target}': 'setLeakPolicy',
  'DELETE /v1/leak-policies/{target}': 'deleteLeakPolicy',

  'GET /v1/alerts': 'listAlerts',
  'GET /v1/alerts/{id}': 'getAlert',
  'POST /v1/alerts/{id}/acknowledge': 'acknowledgeAlert',
};
