import { chmod, rename, writeFile } from 'node:fs/promises';
import { hintOf } from '@keyroll/core';
import { type AdminTarget, callAdmin } from './admin-client.js';

/**
 * After `keys rotate <id>`: when the CLI's root key came from the root-key file and is the key just
 * rotated (a root key with the same hint), writes the successor to that file (mode 0600, replaced
 * atomically) so that the operator keeps a working root key. Returns the file written, if any.
 */
export async function saveRotatedRootKey(
  target: AdminTarget,
  oldKeyId: string,
  successor: string,
): Promise<string | null> {
  const file = target.rootKeyFile;
  if (file === undefined) return null;
  const old = await callAdmin<{ consumerId?: string; hint?: string }>(
    { url: target.url, rootKey: successor },
    'GET',
    `/v1/keys/${encodeURIComponent(oldKeyId)}`,
  ).catch(() => null);
  if (old?.consumerId !== 'root' || old.hint !== hintOf(target.rootKey)) return null;
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${successor}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return file;
}
