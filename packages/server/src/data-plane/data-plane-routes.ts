import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { changesRoute } from './changes-route.js';
import { snapshotRoute } from './snapshot-route.js';
import { usageRoute } from './usage-route.js';

/** The control-plane side of edge verifiers: `GET /v1/data-plane/snapshot`, `/changes` and `POST /v1/data-plane/usage` (scope `dataplane:read`). */
export async function dataPlaneRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  await snapshotRoute(app, deps);
  await changesRoute(app, deps);
  await usageRoute(app, deps);
}
