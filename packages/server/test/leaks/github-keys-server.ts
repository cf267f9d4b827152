import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A P-256 signing key as GitHub lists it. */
export interface SigningKey {
  id: string;
  privateKey: KeyObject;
  pem: string;
  current: boolean;
}

/** Makes a fresh P-256 key pair with an identifier. */
export function signingKey(id: string, current = true): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { id, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), current };
}

/** GitHub's signature of a body: base64 DER ECDSA P-256 / SHA-256. */
export function githubSignature(key: SigningKey, body: string | Buffer): string {
  return sign('sha256', Buffer.from(body), { key: key.privateKey, dsaEncoding: 'der' }).toString('base64');
}

/** A loopback HTTP server answering GitHub's `meta/public_keys/secret_scanning` with chosen keys. */
export interface KeysServer {
  url: string;
  keys: SigningKey[];
  /** Requests served so far. */
  fetches: number;
  /** Answer with this status instead of the list (e.g. 500), or `null` for the list. */
  failWith: number | null;
  close(): Promise<void>;
}

/** Starts a {@link KeysServer} on 127.0.0.1. */
export async function startKeysServer(keys: SigningKey[]): Promise<KeysServer> {
  const state: KeysServer = {
    url: '',
    keys,
    fetches: 0,
    failWith: null,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    if (state.failWith !== null) {
      res.writeHead(state.failWith).end('no');
      return;
    }
    const body = JSON.stringify({
      public_keys: state.keys.map((k) => ({ key_identifier: k.id, key: k.pem, is_current: k.current })),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
  return state;
}
