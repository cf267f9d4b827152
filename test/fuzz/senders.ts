import { type Agent, METHODS, request } from 'node:http';
import { connect } from 'node:net';
import type { FastifyInstance, InjectOptions } from 'fastify';

/** One concrete request, as it goes on the wire. */
export interface WireRequest {
  method: string;
  /** The request target, sent exactly as written (no dot-segment resolution, no re-encoding). */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** What came back: `status` 0 means no HTTP response at all (the connection was dropped). */
export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  raw: Buffer;
  /** Why there was no response, when `status` is 0. */
  error?: string;
}

const KNOWN_METHODS: ReadonlySet<string> = new Set(METHODS);

/** True for the methods Node's HTTP parser knows (the only ones `inject` is typed for). */
export function isInjectMethod(method: string): method is NonNullable<InjectOptions['method']> {
  return KNOWN_METHODS.has(method);
}

/** Sends through Fastify's `inject` (in-process; skips the socket and Node's HTTP parser). */
export async function sendInject(app: FastifyInstance, req: WireRequest): Promise<FuzzResponse> {
  if (!isInjectMethod(req.method)) throw new Error(`inject cannot send method ${req.method}; send it over a socket`);
  try {
    const res = await app.inject({
      method: req.method,
      url: req.target,
      headers: req.headers,
      ...(req.body === undefined ? {} : { payload: req.body }),
    });
    return { status: res.statusCode, headers: res.headers, raw: res.rawPayload };
  } catch (e) {
    return { status: 0, headers: {}, raw: Buffer.alloc(0), error: `inject threw: ${String(e)}` };
  }
}

/**
 * Node's HTTP client refuses header values outside Latin-1 and control characters: send the UTF-8
 * bytes of the value instead (what a raw client would put on the wire) and drop CR, LF and NUL.
 */
function wireHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = Buffer.from(value, 'utf8')
      .toString('latin1')
      .replace(/[\r\n\0]/g, '');
  }
  return out;
}

/** Sends one real HTTP request with node:http; the target goes out as written. */
export function sendHttp(base: string, req: WireRequest, agent: Agent): Promise<FuzzResponse> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(base);
    const done = (r: FuzzResponse) => resolve(r);
    let out: ReturnType<typeof request>;
    try {
      // Node sends a GET, HEAD, DELETE, OPTIONS or TRACE body without framing unless told its length.
      const headers = wireHeaders(req.headers);
      if (req.body !== undefined && req.body.length > 0) headers['content-length'] = String(req.body.length);
      out = request({ hostname, port, path: req.target, method: req.method, headers, agent });
    } catch (e) {
      // The client itself refused (an invalid method token or target): nothing reached the server.
      done({ status: -1, headers: {}, raw: Buffer.alloc(0), error: `client refused: ${String(e)}` });
      return;
    }
    out.setTimeout(20_000, () => out.destroy(new Error('no response within 20 s')));
    out.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => done({ status: 0, headers: res.headers, raw: Buffer.concat(chunks), error: String(e) }));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks) }));
    });
    out.on('error', (e) => done({ status: 0, headers: {}, raw: Buffer.alloc(0), error: String(e) }));
    out.end(req.body);
  });
}

/** Parses a complete HTTP/1.1 response read until the server closed the connection. */
function parseRawResponse(data: Buffer): FuzzResponse {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0)
    return {
      status: 0,
      headers: {},
      raw: data,
      error: `not an HTTP response: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`,
    };
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let raw = data.subarray(end + 4);
  const length = Number(headers['content-length']);
  if (Number.isInteger(length) && length < raw.length) raw = raw.subarray(0, length);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) raw = dechunk(raw);
  return { status, headers, raw };
}

/** Decodes a chunked body (enough for the small answers the fuzz reads). */
function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Writes the request line and headers byte for byte over a TCP socket, so a test can send what no
 * HTTP client would: targets with raw non-ASCII bytes, absolute-form or `*` targets, odd methods.
 */
export function sendRaw(base: string, req: WireRequest): Promise<FuzzResponse> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(base);
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const body = req.body ?? Buffer.alloc(0);
    const head = [`${req.method} ${req.target} HTTP/1.1`, `host: ${hostname}:${port}`, 'connection: close'];
    for (const [name, value] of Object.entries(req.headers)) head.push(`${name}: ${value}`);
    if (body.length > 0 && req.headers['content-length'] === undefined) head.push(`content-length: ${body.length}`);
    socket.setTimeout(20_000, () => socket.destroy(new Error('no response within 20 s')));
    // Written without a FIN: the gateway reads a client's FIN as the client going away and gives up
    // the upstream request (see the gateway suite), so a half-closed request would never see a
    // forwarded answer. `connection: close` has the server end the exchange instead.
    socket.on('connect', () =>
      socket.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'utf8'), body])),
    );
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      const data = Buffer.concat(chunks);
      resolve(data.length > 0 ? parseRawResponse(data) : { status: 0, headers: {}, raw: data, error: String(e) });
    });
    socket.on('close', () => resolve(parseRawResponse(Buffer.concat(chunks))));
  });
}
