import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, ensurePrivateDir, migrateToLatest } from '@keyroll/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const mode = (path: string) => statSync(path).mode & 0o7777;

describe.skipIf(process.platform === 'win32')('file modes of the SQLite data directory', () => {
  let root: string;
  let umask: number;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'keyroll-modes-'));
    // The usual umask: without the fix every file would be 0644 and the directory 0755.
    umask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  });

  /** Opens a store in `dataDir`, writes through it (so -wal and -shm exist) and closes it. */
  const openAndWrite = async (dataDir: string) => {
    const store = createStore({ dataDir });
    try {
      await migrateToLatest(store.db, store.dialect);
      for (const suffix of ['', '-wal', '-shm']) expect(mode(join(dataDir, `keyroll.db${suffix}`)), suffix).toBe(0o600);
    } finally {
      await store.close();
    }
  };

  it('creates the data directory 0700 and the database, -wal and -shm files 0600', async () => {
    const dataDir = join(root, 'nested', 'data');
    await openAndWrite(dataDir);
    expect(mode(dataDir)).toBe(0o700);
  });

  it('tightens an existing looser data directory and database files of ours', async () => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    for (const suffix of ['', '-wal', '-shm']) {
      const file = join(dataDir, `keyroll.db${suffix}`);
      closeSync(openSync(file, 'a', 0o644));
      chmodSync(file, 0o644);
    }
    rmSync(join(dataDir, 'keyroll.db-wal'));
    rmSync(join(dataDir, 'keyroll.db-shm'));
    await openAndWrite(dataDir);
    expect(mode(dataDir)).toBe(0o700);
  });

  it('refuses a shared (world-writable, sticky) directory instead of changing it', () => {
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    expect(() => createStore({ dataDir: shared })).toThrow(/shared .*KEYROLL_DATA_DIR/);
    expect(() => ensurePrivateDir(shared)).toThrow(shared);
    expect(mode(shared)).toBe(0o1777);
  });

  it('gives a database opened by sqlite: URL mode 0600 too', async () => {
    const file = join(root, 'elsewhere.db');
    const store = createStore({ databaseUrl: `sqlite:${file}`, dataDir: root });
    try {
      await migrateToLatest(store.db, store.dialect);
      expect(mode(file)).toBe(0o600);
      expect(mode(`${file}-wal`)).toBe(0o600);
    } finally {
      await store.close();
    }
  });
});
