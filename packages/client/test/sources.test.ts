import { randomUUID } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { type BuiltClient, loadBuiltClient } from './support/built-client.js';

let sdk: BuiltClient;
beforeAll(async () => {
  sdk = await loadBuiltClient();
});

const dirs: string[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'keyroll-client-'));
  dirs.push(d);
  return d;
}

/** Records what the watch callback saw. */
function watchCount(source: ReturnType<BuiltClient['fromFile']>): { count: number } {
  const seen = { count: 0 };
  const stop = source.watch?.(() => seen.count++);
  if (stop) cleanups.push(stop);
  return seen;
}

describe('fromFile', () => {
  it('reads several keys, one a line, first first; blank lines and comments are skipped', async () => {
    const file = join(tempDir(), 'api-key');
    writeFileSync(file, '# rotated by ops\nkr_live_new1\n\n  kr_live_old1  \n');
    const source = sdk.fromFile(file);
    const client = sdk.createClient({ baseUrl: 'http://127.0.0.1:9', keys: source });
    cleanups.push(() => client.close());
    await client.refresh();
    expect(await source.read()).toContain('kr_live_new1');
    // The client reads lazily; one call makes it load the key.
    await client.fetch('/').catch(() => undefined);
    expect(client.keyHint).toBe('kr_live_…new1');
  });

  it('fs.watch notices a file replaced by rename (no polling)', async () => {
    const dir = tempDir();
    const file = join(dir, 'api-key');
    writeFileSync(file, 'kr_live_one\n');
    const source = sdk.fromFile(file, { pollMs: 0 });
    const seen = watchCount(source);
    // A change counts from the watcher's first read, which the test cannot see: replace the file
    // until one replacement is noticed (only fs.watch can notice it: polling is off).
    let written = '';
    await eventually(() => {
      if (seen.count > 0) return true;
      written = `kr_live_${randomUUID().slice(0, 8)}`;
      writeFileSync(join(dir, 'next'), `${written}\n`);
      renameSync(join(dir, 'next'), file);
      return false;
    }, 'the watch event');
    expect(String(await source.read()).trim()).toBe(written);
  });

  it('polling alone notices a Kubernetes-style symlink swap', async () => {
    const dir = tempDir();
    // kubelet layout: api-key -> ..data/api-key, ..data -> ..<timestamp> swapped by rename.
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'api-key'), 'kr_live_v1\n');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/api-key', join(dir, 'api-key'));
    const file = join(dir, 'api-key');
    const source = sdk.fromFile(file, { watch: false, pollMs: 20 });
    const seen = watchCount(source);
    // As above: swap versions until a swap is noticed after the poller's first read.
    let version = 1;
    await eventually(() => {
      if (seen.count > 0) return true;
      const [from, to] = [`..v${version}`, `..v${version + 1}`];
      mkdirSync(join(dir, to));
      writeFileSync(join(dir, to, 'api-key'), `kr_live_v${version + 1}\n`);
      symlinkSync(to, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, from), { recursive: true });
      version++;
      return false;
    }, 'the poll to notice the swap');
    expect(String(await source.read()).trim()).toBe(`kr_live_v${version}`);
  });

  it('a client switches to the new first key when the watched file changes, and says so', async () => {
    const dir = tempDir();
    const file = join(dir, 'api-key');
    writeFileSync(file, 'kr_live_one\n');
    const client = sdk.createClient({ baseUrl: 'http://127.0.0.1:9', keys: sdk.fromFile(file, { pollMs: 20 }) });
    cleanups.push(() => client.close());
    const rotated: unknown[] = [];
    client.on('rotated', (e) => rotated.push(e));
    await client.fetch('/').catch(() => undefined);
    writeFileSync(join(dir, 'next'), 'kr_live_two\nkr_live_one\n');
    renameSync(join(dir, 'next'), file);
    await eventually(() => rotated.length > 0, 'the rotated event');
    expect(rotated).toEqual([
      { fromKeyId: undefined, toKeyId: undefined, fromHint: 'kr_live_…_one', toHint: 'kr_live_…_two', how: 'source' },
    ]);
    expect(client.keyHint).toBe('kr_live_…_two');
  });

  it('writes atomically with mode 0600 and leaves no temporary file', async () => {
    const dir = tempDir();
    const file = join(dir, 'api-key');
    writeFileSync(file, 'kr_live_old\n', { mode: 0o644 });
    const source = sdk.fromFile(file);
    await source.write?.(['kr_live_new', 'kr_live_old']);
    expect(readFileSync(file, 'utf8')).toBe('kr_live_new\nkr_live_old\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['api-key']);
  });

  it('a reader never sees a partly written file while writes go on', async () => {
    const file = join(tempDir(), 'api-key');
    const source = sdk.fromFile(file);
    const long = (n: number) => Array.from({ length: 200 }, (_, i) => `kr_live_${n}_${i}`);
    await source.write?.(long(0));
    let torn = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const lines = String(await source.read())
          .trim()
          .split('\n');
        const batch = lines[0]?.split('_')[2];
        if (lines.length !== 200 || lines.some((l) => l.split('_')[2] !== batch)) torn++;
      }
    })();
    for (let n = 1; n <= 30; n++) await source.write?.(long(n));
    writing = false;
    await reader;
    expect(torn).toBe(0);
  });

  it('processes sharing a file take turns through <file>.lock', async () => {
    const file = join(tempDir(), 'api-key');
    writeFileSync(file, 'kr_live_x\n');
    const a = sdk.fromFile(file);
    const b = sdk.fromFile(file);
    let inside = 0;
    let overlaps = 0;
    const section = async () => {
      inside++;
      if (inside > 1) overlaps++;
      expect(statSync(`${file}.lock`).isFile()).toBe(true);
      await new Promise((r) => setTimeout(r, 15));
      inside--;
    };
    await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).exclusive?.(section)));
    expect(overlaps).toBe(0);
    expect(() => statSync(`${file}.lock`)).toThrow();
  });

  it('breaks a stale lock left by a crashed process, and times out on a live one', async () => {
    const file = join(tempDir(), 'api-key');
    writeFileSync(`${file}.lock`, '4242 crashed\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    const source = sdk.fromFile(file, { lockStaleMs: 30_000 });
    expect(await source.exclusive?.(async () => 'ran')).toBe('ran');

    writeFileSync(`${file}.lock`, '4243 alive\n');
    const impatient = sdk.fromFile(file, { lockStaleMs: 30_000, lockWaitMs: 100 });
    await expect(impatient.exclusive?.(async () => 'ran')).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
  });

  it('a missing file reads as no key, and the client says NO_KEY', async () => {
    const client = sdk.createClient({ baseUrl: 'http://127.0.0.1:9', keys: sdk.fromFile(join(tempDir(), 'absent')) });
    cleanups.push(() => client.close());
    await expect(client.fetch('/')).rejects.toMatchObject({ name: 'KeyrollClientError', code: 'NO_KEY' });
  });
});

describe('fromEnv and fromValue', () => {
  it('fromEnv reads the variable at every look-up; fromValue holds fixed keys', async () => {
    const env: Record<string, string> = { API_KEY: 'kr_live_a' };
    const source = sdk.fromEnv('API_KEY', env);
    expect(await source.read()).toBe('kr_live_a');
    env.API_KEY = 'kr_live_b\nkr_live_a';
    expect(await source.read()).toBe('kr_live_b\nkr_live_a');
    process.env.KEYROLL_CLIENT_TEST_KEY = 'kr_live_p';
    expect(await sdk.fromEnv('KEYROLL_CLIENT_TEST_KEY').read()).toBe('kr_live_p');
    expect(await sdk.fromValue(['kr_live_1', 'kr_live_2']).read()).toEqual(['kr_live_1', 'kr_live_2']);
    expect(sdk.fromValue('k').write).toBeUndefined();
  });
});
