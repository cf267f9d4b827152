import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the stand-in needs to know about a key (a subset of the verifier's result). */
export interface StandInVerdict {
  valid: boolean;
  code: string;
  keyId?: string;
  deprecated?: boolean;
  retiresAt?: number | null;
}

/** One request as the stand-in's upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  key: string | undefined;
  body: string;
  valid: boolean;
}

/** A listening stand-in. */
export interface GatewayStandIn {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A small node:http server answering like keyroll's gateway contract (DESIGN.md, issue 4): the key in
 * `x-api-key` or `Authorization: Bearer`; a refused key gets 401 problem+json `{code: "UNAUTHORIZED",
 * verifyCode}` with `WWW-Authenticate`; a deprecated key is served with `Deprecation` and `Sunset`.
 * It answers 200 with the request body echoed. Used where a test needs to control verdicts exactly.
 */
export async function startGatewayStandIn(verify: (key: string) => Promise<StandInVerdict>): Promise<GatewayStandIn> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    handle(req)
      .then(({ status, headers, body }) => res.writeHead(status, headers).end(body))
      .catch(() => res.writeHead(500).end());
  });
  async function handle(req: IncomingMessage) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const header = req.headers['x-api-key'];
    const key =
      (typeof header === 'string' ? header : undefined) ??
      /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const verdict = key ? await verify(key) : { valid: false, code: 'NOT_FOUND' };
    seen.push({ method: req.method ?? '', url: req.url ?? '', key, body, valid: verdict.valid });
    if (!verdict.valid) {
      return {
        status: 401,
        headers: {
          'content-type': 'application/problem+json',
          'www-authenticate': `Bearer realm="keyroll", error="invalid_token", error_description="${verdict.code}"`,
        },
        body: JSON.stringify({
          type: 'urn:keyroll:problem:unauthorized',
          status: 401,
          code: 'UNAUTHORIZED',
          verifyCode: verdict.code,
          detail: 'refused',
        }),
      };
    }
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (verdict.deprecated && verdict.retiresAt) {
      headers.deprecation = `@${Math.floor(Date.now() / 1000)}`;
      headers.sunset = new Date(verdict.retiresAt).toUTCString();
    }
    return { status: 200, headers, body };
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A programmable key table for the stand-in: each key's verdict is set by the test. */
export class KeyTable {
  readonly #verdicts = new Map<string, StandInVerdict>();

  /** Sets the verdict of `key`. */
  set(key: string, verdict: StandInVerdict): void {
    this.#verdicts.set(key, verdict);
  }

  /** The verdict of `key` (`NOT_FOUND` for unknown keys). */
  readonly verify = async (key: string): Promise<StandInVerdict> =>
    this.#verdicts.get(key) ?? { valid: false, code: 'NOT_FOUND' };
}
