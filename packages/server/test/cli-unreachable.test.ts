import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { callAdmin } from '../src/cli/admin-client.js';

const CLI = join(resolve(import.meta.dirname, '../../..'), 'packages/server/dist/cli.js');

/** A local port nothing listens on: one the OS just handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('the CLI when the server cannot be reached', () => {
  it('names the URL it could not reach and why', async () => {
    const port = await closedPort();
    const target = { url: `http://127.0.0.1:${port}`, rootKey: 'kr_root_x' };
    await expect(callAdmin(target, 'GET', '/v1/keys')).rejects.toThrow(
      `cannot reach keyroll at http://127.0.0.1:${port}/v1/keys: ECONNREFUSED`,
    );
  });

  it('says so on stderr, with a failing exit code', async () => {
    const port = await closedPort();
    const run = promisify(execFile)(process.execPath, [CLI, 'keys', 'list', '--url', `http://127.0.0.1:${port}`], {
      env: { PATH: process.env.PATH ?? '', KEYROLL_ROOT_KEY: 'kr_root_x' },
      timeout: 20_000,
    });
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`cannot reach keyroll at http://127.0.0.1:${port}/v1/keys`),
    });
  });
});
