import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { VerifyCode } from '@keyroll/core';
import { expect } from 'vitest';
import { eventually } from './eventually.js';
import type { SentResponse } from './http-send.js';
import { closedPort } from './loopback-upstream.js';

/** A real proxy process (nginx, Caddy) started by a suite on a loopback port. */
export interface RunningProxy {
  base: string;
  /** What the process wrote (and, for nginx, its error log), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Where a proxy binary is, or why its suite is skipped: the reason is printed; with
 * `KEYROLL_REQUIRE_PROXIES=1` (CI) a missing binary throws instead, so the suite fails.
 */
export function proxyBinary(name: 'nginx' | 'caddy'): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  const reason = `${name} is not installed (apt-get install -y ${name})`;
  if (process.env.KEYROLL_REQUIRE_PROXIES === '1') throw new Error(`KEYROLL_REQUIRE_PROXIES=1 but ${reason}`);
  process.stderr.write(`forward-auth ${name} suite skipped: ${reason}\n`);
  return null;
}

/** The verification guide, whose tested proxy configurations the proxy suites run. */
const GUIDE = readFileSync(new URL('../../docs/guides/verification.md', import.meta.url), 'utf8');

/**
 * The guide's snippet marked `<!-- tested-snippet: name -->`, pointed at this suite's keyroll (a
 * node or an edge: whatever answers `/v1/forward-auth`), upstream and port. Read from the page, so
 * the configuration the guide prints is the one tested.
 */
export function guideSnippet(name: 'nginx' | 'caddy', keyroll: string, upstream: string, port: number): string {
  const m = new RegExp(`<!-- tested-snippet: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(GUIDE);
  if (!m?.[1]) throw new Error(`docs/guides/verification.md has no tested snippet ${name}`);
  return m[1]
    .replaceAll('127.0.0.1:7070', new URL(keyroll).host)
    .replaceAll('127.0.0.1:9000', new URL(upstream).host)
    .replace('listen 8080;', `listen 127.0.0.1:${port};`)
    .replace(/^:8080 \{/m, `http://127.0.0.1:${port} {`);
}

/** The route file of the proxy suites: `/api` needs scope `read`, `POST /api/orders` needs `write`. */
export function proxyRoutes(upstream: string) {
  return {
    routes: [
      { pathPrefix: '/api', upstream, scopes: ['read'] },
      { pathPrefix: '/api/orders', upstream, scopes: ['write'], methods: ['POST'] },
    ],
  };
}

/** The verify codes keyroll answers with 401 (a key it cannot accept at all). */
export type UnauthorizedCode = Extract<VerifyCode, 'MALFORMED' | 'NOT_FOUND' | 'EXPIRED' | 'RETIRED' | 'REVOKED'>;

/**
 * Asserts that a proxy handed the client keyroll's 401 refusal: status 401, the `WWW-Authenticate`
 * challenge naming the verify code (the bare `Bearer realm="keyroll"` for a request without a key,
 * `code` null), a problem+json body with code `UNAUTHORIZED` and that verify code, and a body that
 * does not echo the key sent (`key`, required with a code). `output` (the proxy's log) is the
 * message of a wrong status. The exact answer of each code from keyroll itself, whoever serves
 * it, is checked by `expectRefusal` (key-fixtures.ts).
 */
export function expectRefused(res: SentResponse, code: UnauthorizedCode, seen: { key: string; output?: string }): void;
export function expectRefused(res: SentResponse, code: null, seen?: { output?: string }): void;
export function expectRefused(
  res: SentResponse,
  code: UnauthorizedCode | null,
  seen: { key?: string; output?: string } = {},
): void {
  expect(res.status, seen.output).toBe(401);
  expect(res.headers['www-authenticate']).toBe(
    code === null
      ? 'Bearer realm="keyroll"'
      : `Bearer realm="keyroll", error="invalid_token", error_description="${code}"`,
  );
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED', ...(code === null ? {} : { verifyCode: code }) });
  if (seen.key !== undefined) expect(res.raw.toString()).not.toContain(seen.key);
}

/** The real proxies the suites put in front of keyroll, each with its binary (null: skipped, see {@link proxyBinary}). */
export function realProxies() {
  return [
    { name: 'nginx', binary: proxyBinary('nginx'), start: startNginx },
    { name: 'caddy', binary: proxyBinary('caddy'), start: startCaddy },
  ] as const;
}

/** Starts nginx in the foreground with its own prefix, pid, logs and temp paths; `server` is the server block(s). */
export async function startNginx(binary: string, server: (port: number) => string): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'keyroll-nginx-'));
  const port = await closedPort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${join(dir, t)};`)
    .join('\n  ');
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events { worker_connections 64; }
http {
  access_log off;
  ${temp}
${server(port)}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return started(child, port, dir, () => readLog(join(dir, 'error.log')));
}

/** Starts Caddy with a Caddyfile (`site(port)`) in a temp dir, admin endpoint off, no automatic HTTPS. */
export async function startCaddy(binary: string, site: (port: number) => string): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'keyroll-caddy-'));
  const port = await closedPort();
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, `{\n\tadmin off\n\tauto_https off\n}\n${site(port)}\n`);
  const child = spawn(binary, ['run', '--config', file, '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
  return started(child, port, dir, () => '');
}

async function started(child: ChildProcess, port: number, dir: string, log: () => string): Promise<RunningProxy> {
  let out = '';
  let exited: number | null = null;
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const gone = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code ?? -1;
      resolve();
    }),
  );
  const output = () => `${out}\n${log()}`;
  const stop = async () => {
    if (exited === null) child.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000).unref())]);
    if (exited === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      async () => {
        if (exited !== null) throw new Error(`the proxy exited with ${exited}: ${output()}`);
        return canConnect(port);
      },
      'the proxy to listen',
      10_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { base: `http://127.0.0.1:${port}`, output, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
