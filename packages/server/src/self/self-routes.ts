import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { ConsumerSchema } from '../consumers/consumer-schemas.js';
import { KeySchema } from '../keys/key-schemas.js';
import { requireSelfServiceKey } from './self-guard.js';

/** `/v1/self`: a consumer inspects its own key, authenticated by that key in `x-api-key`. */
export async function selfRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/self',
    {
      preHandler: requireSelfServiceKey(deps),
      schema: {
        tags: ['self-service'],
        summary: 'The calling key and its consumer',
        response: {
          200: Type.Object({ key: KeySchema, consumer: ConsumerSchema }),
          401: Type.Ref('Problem'),
          403: Type.Ref('Problem'),
          429: Type.Ref('Problem'),
        },
      },
    },
    async (req) => {
      const keyId = req.selfKey?.keyId ?? '';
      const key = await deps.keys.get(keyId);
      return { key, consumer: await deps.consumers.get(key.consumerId) };
    },
  );
}
