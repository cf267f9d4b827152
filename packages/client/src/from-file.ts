import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { withFileLock } from './file-lock.js';
import type { KeySource } from './key-source.js';

/** Options of {@link fromFile}. */
export interface FileSourceOptions {
  /** How often the file is read again in case a watch event was missed (ms; 0 turns polling off). Default 1000. */
  pollMs?: number;
  /** Watch the file's directory with `fs.watch` (default true). */
  watch?: boolean;
  /** A lock file (`<path>.lock`) older than this is broken as left by a crash (ms). Default 30000. */
  lockStaleMs?: number;
  /** How long to wait for the lock before giving up (ms). Default 60000. */
  lockWaitMs?: number;
}

/**
 * Keys in a file, one a line, the first in use. The client notices a replaced file or a swapped
 * symlink (Kubernetes secret volumes) through `fs.watch` on the directory and by polling; it writes
 * rotated keys atomically (temporary file + rename, mode 0600); processes sharing the file take
 * turns through `<path>.lock`, so only one claims a successor and the others read it from the file.
 * @example createClient({ baseUrl, keys: fromFile('/run/secrets/api-key'), keyrollUrl })
 */
export function fromFile(path: string, options: FileSourceOptions = {}): KeySource {
  const pollMs = options.pollMs ?? 1000;
  const lock = { staleMs: options.lockStaleMs ?? 30_000, waitMs: options.lockWaitMs ?? 60_000 };
  const stops = new Set<() => void>();

  const read = async (): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      // Between the unlink and the link of a symlink swap the file may briefly not exist.
      if (typeof e === 'object' && e !== null && Reflect.get(e, 'code') === 'ENOENT') return '';
      throw e;
    }
  };

  return {
    read,
    write: (keys) => writeFileAtomic(path, `${keys.join('\n')}\n`),
    exclusive: (fn) => withFileLock(`${path}.lock`, fn, lock),
    watch(onChange) {
      let last: string | undefined;
      let checking = false;
      let again = false;
      const check = (): void => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        read()
          .then((text) => {
            const changed = last !== undefined && text !== last;
            last = text;
            if (changed) onChange();
          })
          .catch(() => undefined)
          .finally(() => {
            checking = false;
            if (again) {
              again = false;
              check();
            }
          });
      };
      check();
      const timer = pollMs > 0 ? setInterval(check, pollMs) : undefined;
      timer?.unref();
      let watcher: FSWatcher | undefined;
      if (options.watch ?? true) {
        // The directory, not the file: a rename or symlink swap replaces the inode a file watch is bound to.
        watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
          if (!file || !/\.(tmp|lock)$/.test(file)) check();
        });
        watcher.on('error', () => undefined);
      }
      const stop = (): void => {
        if (timer) clearInterval(timer);
        watcher?.close();
        stops.delete(stop);
      };
      stops.add(stop);
      return stop;
    },
    close() {
      for (const stop of [...stops]) stop();
    },
  };
}
