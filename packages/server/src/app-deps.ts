import type { Clock } from '@keyroll/core';
import type { ForwardAuth } from '@keyroll/gateway';
import type { Store } from '@keyroll/storage';
import type { ConnectedRedisRateLimiter, UsageMeter, Verifier } from '@keyroll/verifier/internal';
import type { AuditService } from './audit/audit-service.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import type { Config } from './config.js';
import type { ConsumerService } from './consumers/consumer-service.js';
import type { KeyService } from './keys/key-service.js';
import type { GithubPublicKeys } from './leaks/github-public-keys.js';
import type { LeakPolicyService } from './leaks/leak-policies.js';
import type { LeakService } from './leaks/leak-service.js';
import type { Monitoring } from './monitoring/monitoring.js';
import type { PlanService } from './plans/plan-service.js';
import type { RotationEngine } from './rotations/rotation-engine.js';
import type { RotationPolicyService } from './rotations/rotation-policies.js';
import type { RotationScheduler } from './rotations/rotation-scheduler.js';
import type { SelfServiceLimits } from './rotations/self-service-limits.js';

/** Everything the HTTP layer is built from; wired once at start-up (or by a test). */
export interface AppDeps {
  config: Readonly<Config>;
  store: Store;
  clock: Clock;
  verifier: Verifier;
  usage: UsageMeter;
  consumers: ConsumerService;
  keys: KeyService;
  audit: AuditService;
  rotations: RotationEngine;
  rotationPolicies: RotationPolicyService;
  /** Completes rotations, applies retirement rules and policies; tests call `tick()`. */
  scheduler: RotationScheduler;
  /** Analytics, alerts, webhooks and metrics. */
  monitoring: Monitoring;
  /** This node's change feed, key cache and heartbeat. */
  cluster: ClusterNode;
  plans: PlanService;
  /** The Redis of cluster-wide limits, for readiness; absent without `KEYROLL_REDIS_URL`. */
  redis?: Pick<ConnectedRedisRateLimiter, 'displayUrl' | 'reachable'>;
  /** The forward-auth decision for existing proxies (`/v1/forward-auth`), on the gateway's routes when configured. */
  forwardAuth: ForwardAuth;
  /** The per-consumer rate limit of the self-service routes. */
  selfService: SelfServiceLimits;
  /** Leak reports, containment and incidents. */
  leaks: LeakService;
  leakPolicies: LeakPolicyService;
  /** GitHub's secret-scanning signing keys, cached. */
  githubKeys: GithubPublicKeys;
}
