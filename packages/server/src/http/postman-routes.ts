import type { FastifyInstance } from 'fastify';
import { toPostmanCollection } from './postman-collection.js';

/**
 * `GET /postman.json`: the API as a Postman collection (v2.1) generated from the OpenAPI document,
 * with `baseUrl` set to the address the request came to. Public, like `/openapi.json`.
 */
export async function postmanRoutes(app: FastifyInstance): Promise<void> {
  app.get('/postman.json', { schema: { hide: true } }, async (req, reply) => {
    const openapi = app.swagger() as unknown as Record<string, unknown>;
    reply.header('content-disposition', 'inline; filename="keyroll.postman_collection.json"');
    return toPostmanCollection(openapi, { baseUrl: `${req.protocol}://${req.host}` });
  });
}
