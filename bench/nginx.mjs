// Shared by the benchmarks that put a real nginx in front of the upstream (bench:forward-auth,
// bench:gateway): where nginx is, a free loopback port, and one nginx process (one worker, in the
// foreground, with its own prefix) that is ready when it answers on every port.
//
// autocannon ignores `Connection: close`: it writes its next request as soon as a response is
// complete. nginx closes a client connection after `keepalive_requests` requests (1000 by
// default), so a fast target used to hit that limit mid-round, and a request written into the
// closing connection came back as ECONNRESET. The benches' nginx therefore keeps client connections
// for the whole run.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The nginx binary on PATH (or in /usr/sbin, where Debian puts it), or null. */
export function nginxBinary() {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    try {
      accessSync(join(dir, 'nginx'), constants.X_OK);
      return join(dir, 'nginx');
    } catch {}
  }
  return null;
}

/** A loopback port that was free a moment ago (nginx's readiness probe catches a port taken since). */
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Whether nginx itself answers on `port` (a 401 from nginx for a request without a key). */
async function nginxAnswers(port, path) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 401 && /^nginx/.test(res.headers.get('server') ?? '');
  } catch {
    return false;
  }
}

/**
 * One nginx (one worker) serving `servers` (http-context blocks), in the foreground, with its own
 * prefix. Resolves once nginx answers a keyless request to `path` with its own 401 on every port
 * (an HTTP probe, not a fixed sleep: a bare TCP connect could reach another process that took a port
 * between freePort() and nginx's bind — the machine is shared). `stop()` ends it and removes its dir;
 * `pid` is its one process (master_process off), for its CPU time.
 */
export async function startNginx(binary, servers, ports, path = '/api/items') {
  const dir = mkdtempSync(join(os.tmpdir(), 'keyroll-bench-nginx-'));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, t)};`);
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} error;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  ${temp.join('\n  ')}
${servers}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const log = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const text = log();
      await stop();
      throw new Error(`nginx exited with ${child.exitCode}: ${text}`);
    }
    if ((await Promise.all(ports.map((p) => nginxAnswers(p, path)))).every(Boolean)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('nginx did not answer on its ports within 10 s');
    }
    await sleep(50);
  }
  return { stop, log, pid: child.pid };
}
