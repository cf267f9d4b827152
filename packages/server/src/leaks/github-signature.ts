import { verify } from 'node:crypto';
import { ApiError } from '@keyroll/core';
import type { GithubPublicKeys } from './github-public-keys.js';

/** Longest accepted base64 signature (a DER P-256 ECDSA signature is at most 72 bytes). */
const MAX_SIGNATURE_CHARS = 256;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Checks GitHub's signature of a secret-scanning post: `Github-Public-Key-Signature` is a base64 DER
 * ECDSA P-256 / SHA-256 signature of the raw body, made with the key `Github-Public-Key-Identifier`
 * names. Throws 401 `SIGNATURE_INVALID` (missing, malformed or wrong) or `SIGNING_KEY_UNKNOWN`.
 */
export async function verifyGithubSignature(
  keys: GithubPublicKeys,
  rawBody: Buffer,
  identifier: string | string[] | undefined,
  signature: string | string[] | undefined,
): Promise<void> {
  if (typeof identifier !== 'string' || identifier.length === 0 || identifier.length > 256) {
    throw new ApiError('SIGNATURE_INVALID', 'Github-Public-Key-Identifier is missing or not valid', {
      header: 'github-public-key-identifier',
    });
  }
  if (typeof signature !== 'string' || signature.length > MAX_SIGNATURE_CHARS || !BASE64.test(signature)) {
    throw new ApiError('SIGNATURE_INVALID', 'Github-Public-Key-Signature is missing or not base64', {
      header: 'github-public-key-signature',
    });
  }
  const key = await keys.key(identifier);
  if (!key) throw new ApiError('SIGNING_KEY_UNKNOWN', 'GitHub lists no public key with this identifier');
  let ok = false;
  try {
    ok = verify('sha256', rawBody, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw new ApiError('SIGNATURE_INVALID', 'the signature does not match the body');
}
