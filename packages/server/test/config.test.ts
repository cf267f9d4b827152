import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@keyroll/server';
import { afterAll, describe, expect, it } from 'vitest';

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyroll-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      dataDir: './.keyroll',
      databaseUrl: undefined,
      redisUrl: undefined,
      host: '127.0.0.1',
      port: 7070,
      gatewayPort: undefined,
      maxActiveKeysPerConsumer: 10,
      keyPrefix: 'kr_live',
      rootKeyPrefix: 'kr_root',
      logLevel: 'info',
    });
  });

  it('reads the KEYROLL_* variables', () => {
    const config = loadConfig({
      KEYROLL_DATA_DIR: '/var/lib/keyroll',
      KEYROLL_DATABASE_URL: 'postgres://db/keyroll',
      KEYROLL_REDIS_URL: 'redis://cache:6379',
      KEYROLL_HOST: '0.0.0.0',
      KEYROLL_PORT: '8080',
      KEYROLL_GATEWAY_PORT: '8081',
      KEYROLL_MAX_ACTIVE_KEYS: '3',
      KEYROLL_KEY_PREFIX: 'acme_live',
      KEYROLL_ROOT_KEY_PREFIX: 'acme_root',
    });
    expect(config).toMatchObject({
      dataDir: '/var/lib/keyroll',
      databaseUrl: 'postgres://db/keyroll',
      redisUrl: 'redis://cache:6379',
      host: '0.0.0.0',
      port: 8080,
      gatewayPort: 8081,
      maxActiveKeysPerConsumer: 3,
      keyPrefix: 'acme_live',
      rootKeyPrefix: 'acme_root',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ KEYROLL_PORT: '', KEYROLL_DATABASE_URL: '', KEYROLL_DATA_DIR: '' })).toMatchObject({
      port: 7070,
      databaseUrl: undefined,
      dataDir: './.keyroll',
    });
  });

  it('rejects values out of range with a ConfigError naming the variable', () => {
    const bad: Record<string, string>[] = [
      { KEYROLL_PORT: '70000' },
      { KEYROLL_PORT: 'http' },
      { KEYROLL_PORT: '-1' },
      { KEYROLL_PORT: '80.5' },
      { KEYROLL_MAX_ACTIVE_KEYS: '0' },
      { KEYROLL_MAX_ACTIVE_KEYS: 'ten' },
      { KEYROLL_GATEWAY_PORT: 'x' },
      { KEYROLL_KEY_PREFIX: 'Has-Caps' },
      { KEYROLL_KEY_PREFIX: 'trailing_' },
      { KEYROLL_ROOT_KEY_PREFIX: 'a b' },
    ];
    for (const env of bad) {
      const name = Object.keys(env)[0] ?? '';
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(name);
    }
  });

  it('reads KEYROLL_CONFIG, a JSON file of the same names, which the environment overrides', () => {
    const file = join(dir, 'keyroll.json');
    writeFileSync(file, JSON.stringify({ KEYROLL_PORT: 9000, KEYROLL_HOST: '10.0.0.1', KEYROLL_MAX_ACTIVE_KEYS: 4 }));
    expect(loadConfig({ KEYROLL_CONFIG: file })).toMatchObject({
      port: 9000,
      host: '10.0.0.1',
      maxActiveKeysPerConsumer: 4,
    });
    expect(loadConfig({ KEYROLL_CONFIG: file, KEYROLL_PORT: '9100' })).toMatchObject({ port: 9100, host: '10.0.0.1' });
  });

  it('rejects a config file that is not a JSON object', () => {
    const list = join(dir, 'list.json');
    writeFileSync(list, '[1, 2]');
    expect(() => loadConfig({ KEYROLL_CONFIG: list })).toThrow(ConfigError);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"KEYROLL_PORT":');
    expect(() => loadConfig({ KEYROLL_CONFIG: broken })).toThrow(/KEYROLL_CONFIG/);
    expect(() => loadConfig({ KEYROLL_CONFIG: join(dir, 'missing.json') })).toThrow(/KEYROLL_CONFIG/);
    const unreadable = join(dir, 'unreadable.json');
    writeFileSync(unreadable, '{}');
    chmodSync(unreadable, 0o000);
    if (process.getuid?.() !== 0) expect(() => loadConfig({ KEYROLL_CONFIG: unreadable })).toThrow(/KEYROLL_CONFIG/);
  });
});
