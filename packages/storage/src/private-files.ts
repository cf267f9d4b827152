import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync } from 'node:fs';

/** Mode of keyroll's data directory: only the owner may list or enter it. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file holding secrets (database, its -wal/-shm, root key, audit key). */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Makes `dir` (and missing parents) and leaves it mode 0700. An existing directory that others may
 * read is tightened when it is ours; one that is world-writable or sticky (a shared place such as
 * /tmp) or owned by someone else is refused, with the reason and the fix in the error.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`data directory ${dir} is not a directory`);
  if ((st.mode & 0o077) === 0) return;
  const uid = process.getuid?.();
  if (uid === undefined) return; // no POSIX modes to speak of (Windows)
  if ((st.mode & 0o1002) !== 0) {
    throw new Error(
      `data directory ${dir} is shared (world-writable or sticky, mode ${octal(st.mode)}): ` +
        'point KEYROLL_DATA_DIR at a directory of its own',
    );
  }
  if (st.uid !== uid) {
    throw new Error(
      `data directory ${dir} is readable by others (mode ${octal(st.mode)}) and not owned by this user, ` +
        `so it cannot be tightened: chmod 700 ${dir}, or point KEYROLL_DATA_DIR elsewhere`,
    );
  }
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Creates `file` with mode 0600 if it is missing, and sets an existing one to 0600. */
export function ensurePrivateFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  chmodSync(file, PRIVATE_FILE_MODE);
}

/** Sets `file` to mode 0600 when it exists. */
export function tightenIfPresent(file: string): void {
  if (existsSync(file)) chmodSync(file, PRIVATE_FILE_MODE);
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
