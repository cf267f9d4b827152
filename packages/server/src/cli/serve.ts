import { DEFAULT_GATEWAY_PORT } from '@keyroll/gateway';
import { loadConfig } from '../config.js';
import { createKeyroll } from '../keyroll.js';

/**
 * Starts a keyroll node from the environment and serves until SIGINT/SIGTERM. With `json`, the
 * start is one JSON line on stdout (`url`, `storage`, `docs`, `dashboard`, `health`, `gateway` when
 * it runs, and on the first start `rootKey` and `rootKeyFile`) for scripts and supervisors.
 */
export async function serve(opts: { json?: boolean } = {}): Promise<void> {
  const config = loadConfig();
  const kr = await createKeyroll(config, {
    background: true,
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] },
  });
  const address = await kr.app.listen({ host: config.host, port: config.port });
  const storage = kr.store.dialect === 'sqlite' ? `SQLite in ${config.dataDir}` : 'PostgreSQL';
  const gatewayAddress = kr.gateway
    ? await kr.gateway.listen(config.gatewayPort ?? DEFAULT_GATEWAY_PORT, config.host)
    : null;
  if (opts.json) {
    const started = {
      url: address,
      storage: kr.store.dialect,
      docs: `${address}/docs`,
      dashboard: `${address}/dashboard`,
      health: `${address}/healthz`,
      ...(gatewayAddress && { gateway: gatewayAddress }),
      ...(kr.bootstrap && { rootKey: kr.bootstrap.rootKey, rootKeyFile: kr.bootstrap.rootKeyFile }),
    };
    process.stdout.write(`${JSON.stringify(started)}\n`);
  }
  const lines = [
    '',
    `keyroll is listening on ${address} (storage: ${storage})`,
    `  API docs:  ${address}/docs`,
    `  dashboard: ${address}/dashboard`,
    `  health:    ${address}/healthz`,
  ];
  if (gatewayAddress) lines.push(`  gateway:   ${gatewayAddress} (routes from KEYROLL_GATEWAY_CONFIG)`);
  if (kr.bootstrap) {
    lines.push(
      '',
      'First start: one root key was created. It is shown this once and written to',
      `  ${kr.bootstrap.rootKeyFile} (mode 0600):`,
      '',
      `  ${kr.bootstrap.rootKey}`,
      '',
      `Try: curl -s -H "Authorization: Bearer $(cat ${kr.bootstrap.rootKeyFile})" ${address}/v1/consumers`,
    );
  }
  if (!opts.json) process.stdout.write(`${lines.join('\n')}\n\n`);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    kr.app.log.info({ signal }, 'shutting down');
    await kr.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
