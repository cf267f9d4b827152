import { request } from 'node:http';
import type { SeenResponse } from './key-fixtures.js';

/** A response read in full: status, headers, the raw bytes, and the body parsed when it is JSON. */
export interface SentResponse extends SeenResponse {
  raw: Buffer;
}

/** Sends one real HTTP request with node:http (which lets a test set any header, hop-by-hop ones too). */
export function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<SentResponse> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    // The path goes out as written (a URL would resolve dot segments before sending).
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const type = String(res.headers['content-type'] ?? '');
        const parsed = /json/.test(type) && raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, raw });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
