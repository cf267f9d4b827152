import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { changesRoute } from './changes-route.js';
import { snapshotRoute } from './snapshot-route.js';

/** The control-plane side of edge verifiers: `GET /v1/data-plane/snapshot` and `/changes` (scope `dataplane:read`). */
export async function dataPlaneRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  await snapshotRoute(app, deps);
  await changesRoute(app, deps);
}
