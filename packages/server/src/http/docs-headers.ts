import type { FastifyInstance } from 'fastify';

/**
 * Swagger UI's needs and nothing more: its scripts and styles come from /docs/static (no inline
 * script, no eval); it sets inline style attributes, fetches the document from /docs/json and shows
 * data: images. It may not be framed, submit forms or talk to any other origin.
 */
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
  "frame-ancestors 'none'";

/** The headers every response under /docs carries (the dashboard's set, with a CSP for Swagger UI). */
export const DOCS_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DOCS_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** True for `/docs` and anything under `/docs/` (query ignored). */
function underDocs(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return path === '/docs' || path.startsWith('/docs/');
}

/**
 * Adds {@link DOCS_SECURITY_HEADERS} to every response under /docs: the UI page, its static files,
 * the OpenAPI document and errors alike (the swagger-ui plugin's own hooks miss its static files).
 */
export function installDocsSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    if (underDocs(request.url)) reply.headers(DOCS_SECURITY_HEADERS);
  });
}
