import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
/** Fastify's validator factory type (that of `@fastify/ajv-compiler`). */
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>;

// Fastify's own Ajv compiler, resolved from fastify itself (it is fastify's dependency, not ours).
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));
const ajvCompiler: () => ValidatorFactory = fastifyRequire('@fastify/ajv-compiler');

/**
 * Fastify's validator, with type coercion only where values arrive as text (query string, path,
 * headers). JSON bodies are checked strictly: `{"name": 123}` or `{"scopes": "read"}` is a 400,
 * not silently turned into `"123"` or `["read"]`.
 */
export function requestValidatorFactory(): ValidatorFactory {
  const textParts = ajvCompiler();
  const jsonBody = ajvCompiler();
  return (externalSchemas, options) => {
    const coercing = textParts(externalSchemas, options);
    const base = options?.mode === 'JTD' ? {} : options;
    const strict = jsonBody(externalSchemas, {
      ...base,
      customOptions: { ...base?.customOptions, coerceTypes: false },
    });
    return (route) => (route.httpPart === 'body' ? strict(route) : coercing(route));
  };
}
