import { DEFAULT_GATEWAY_PORT } from '@keyroll/gateway';
import { loadEdgeConfig } from '../data-plane/edge-config.js';
import { startEdge } from '../data-plane/edge-node.js';
import { REDACTED_HEADERS } from '../http/log-redaction.js';

/**
 * Starts an edge verifier from the environment (no database) and serves until SIGINT/SIGTERM. With
 * `json`, the start is one JSON line on stdout (`url`, `upstream`, `keys`, `appliedSeq`, `onStale`,
 * `maxStalenessMs`, `verify`, `health`, `gateway` when it runs) for scripts and supervisors.
 */
export async function edge(opts: { json?: boolean } = {}): Promise<void> {
  const config = loadEdgeConfig();
  const node = await startEdge(config, { logger: { level: config.logLevel, redact: REDACTED_HEADERS } });
  const address = await node.app.listen({ host: config.host, port: config.port });
  const s = node.remote.status();
  const lines = [
    '',
    `keyroll edge is listening on ${address}, following ${new URL(config.upstream).origin}`,
    `  ${s.keys} keys at change ${s.appliedSeq}; ` +
      (config.onStale === 'refuse'
        ? `refuses keys after ${config.maxStalenessMs} ms without news from it`
        : 'KEYROLL_EDGE_ON_STALE=serve-cached: serves cached keys when stale (no revocation bound)'),
    `  verify:    ${address}/v1/keys/verify`,
    `  health:    ${address}/healthz, ${address}/readyz, ${address}/metrics`,
  ];
  const gateway = node.gateway
    ? await node.gateway.listen(config.gatewayPort ?? DEFAULT_GATEWAY_PORT, config.host)
    : null;
  if (gateway) lines.push(`  gateway:   ${gateway} (routes from KEYROLL_GATEWAY_CONFIG)`);
  if (opts.json) {
    const started = {
      url: address,
      upstream: new URL(config.upstream).origin,
      keys: s.keys,
      appliedSeq: s.appliedSeq,
      onStale: config.onStale,
      maxStalenessMs: config.maxStalenessMs,
      verify: `${address}/v1/keys/verify`,
      health: `${address}/healthz`,
      ...(gateway && { gateway }),
    };
    process.stdout.write(`${JSON.stringify(started)}\n`);
  } else process.stdout.write(`${lines.join('\n')}\n\n`);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    node.app.log.info({ signal }, 'shutting down');
    await node.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
