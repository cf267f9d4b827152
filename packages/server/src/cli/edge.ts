import { DEFAULT_GATEWAY_PORT } from '@keyroll/gateway';
import { loadEdgeConfig } from '../data-plane/edge-config.js';
import { startEdge } from '../data-plane/edge-node.js';
import { REDACTED_HEADERS } from '../http/log-redaction.js';

/** Starts an edge verifier from the environment (no database) and serves until SIGINT/SIGTERM. */
export async function edge(): Promise<void> {
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
  if (node.gateway) {
    const gateway = await node.gateway.listen(config.gatewayPort ?? DEFAULT_GATEWAY_PORT, config.host);
    lines.push(`  gateway:   ${gateway} (routes from KEYROLL_GATEWAY_CONFIG)`);
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
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
