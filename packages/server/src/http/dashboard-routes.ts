import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendProblem } from './problem.js';

/** The dashboard's static files: `packages/server/dashboard`, three levels up from both src/ and dist/. */
const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/**
 * Libraries the dashboard loads, served from the server's own node_modules: the strict CSP
 * (`script-src 'self'`, `style-src 'self'`) forbids any CDN, so they come from this origin.
 * uPlot (charts) is an ES module; its stylesheet styles the chart's axes and cursor.
 */
const VENDOR_FILES: Record<string, string> = {
  'uplot.js': 'uplot/dist/uPlot.esm.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

interface Asset {
  type: string;
  body: Buffer;
}

/** Reads every servable file of the dashboard directory once; only these names can ever be served. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const type = CONTENT_TYPES[extname(entry.name)];
    if (entry.isFile() && type) assets.set(entry.name, { type, body: readFileSync(join(dir, entry.name)) });
  }
  return assets;
}

/** Reads the vendored libraries from node_modules, as resolved from this package. */
function loadVendorAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>();
  for (const [name, module] of Object.entries(VENDOR_FILES)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) assets.set(name, { type, body: readFileSync(require.resolve(module)) });
  }
  return assets;
}

/** Sends one asset with the dashboard's security headers. */
function sendAsset(reply: FastifyReply, asset: Asset): FastifyReply {
  return reply.headers(SECURITY_HEADERS).type(asset.type).send(asset.body);
}

/** `/dashboard`: the operator's web console, static files read at start-up, hidden from the OpenAPI document. */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const assets = loadAssets(DASHBOARD_DIR);
  const index = assets.get('index.html');
  if (!index) throw new Error(`dashboard: no index.html in ${DASHBOARD_DIR}`);
  const vendor = loadVendorAssets();
  const schema = { hide: true };
  app.get('/dashboard', { schema }, async (_req, reply) => sendAsset(reply, index));
  app.get('/dashboard/', { schema }, async (_req, reply) => sendAsset(reply, index));
  app.get<{ Params: { file: string } }>('/dashboard/vendor/:file', { schema }, async (req, reply) => {
    const asset = vendor.get(req.params.file);
    if (asset) return sendAsset(reply, asset);
    return sendProblem(reply.headers(SECURITY_HEADERS), 'NOT_FOUND', 404, 'no such dashboard library');
  });
  app.get<{ Params: { file: string } }>('/dashboard/:file', { schema }, async (req, reply) => {
    const asset = assets.get(req.params.file);
    if (asset) return sendAsset(reply, asset);
    return sendProblem(reply.headers(SECURITY_HEADERS), 'NOT_FOUND', 404, 'no such dashboard file');
  });
}
