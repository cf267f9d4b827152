import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@keyroll/core';
import { ERROR_STATUS, PROBLEM_CONTENT_TYPE, problemOf } from './http-answers.js';

/** What a request Node's HTTP parser refused is told, by the parser's error code. */
function answerTo(error: NodeJS.ErrnoException): { code: ErrorCode; detail: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { code: 'REQUEST_TIMEOUT', detail: 'the request took too long to arrive' };
  if (error.code === 'HPE_HEADER_OVERFLOW')
    return { code: 'HEADERS_TOO_LARGE', detail: 'the request headers are too large' };
  return { code: 'VALIDATION_FAILED', detail: 'the request is not valid HTTP/1.1' };
}

/**
 * True when the refused request is a HEAD, as far as the bytes the parser failed on tell
 * (`rawPacket`, which starts with the request line when the request arrived in one read): its
 * answer must have no body, or the client reads the body as data after the response.
 */
function refusedHead(error: NodeJS.ErrnoException): boolean {
  const raw: unknown = (error as { rawPacket?: unknown }).rawPacket;
  return Buffer.isBuffer(raw) && /^(?:\r?\n)*HEAD /.test(raw.subarray(0, 16).toString('latin1'));
}

/**
 * A whole HTTP/1.1 response carrying a problem, for writing straight to a socket, and the end of the
 * connection; for a HEAD request, the same head without the body.
 */
function problemResponse(
  code: ErrorCode,
  detail: string,
  options: { headers?: Record<string, string>; head?: boolean } = {},
): string {
  const status = ERROR_STATUS[code];
  const body = JSON.stringify(problemOf(code, status, detail));
  const extra = Object.entries(options.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n${extra}` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${options.head ? '' : body}`
  );
}

/**
 * A `clientError` listener (the gateway's, and the API's Fastify `clientErrorHandler`): a request
 * Node's HTTP parser refused (malformed, headers or target over the limit, too slow to arrive) is
 * answered with a problem, as Node would answer it (400, 431, 408) but as problem+json, and the
 * connection closed. A connection that is gone, or whose current response has begun, is only closed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Node's own handler checks the same: the response attached to the socket may already be on the wire.
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !current?.headersSent) {
    const { code, detail } = answerTo(error);
    socket.write(problemResponse(code, detail, { head: refusedHead(error) }));
  }
  socket.destroy(error);
}

/**
 * A `connect` listener for a server that opens no tunnels (keyroll's API and gateway): CONNECT, which
 * Node would otherwise answer by closing the connection, gets a 405 problem. `Allow` is empty: no
 * target can be tunnelled to.
 */
export function refuseTunnel(_req: IncomingMessage, socket: Duplex): void {
  if (socket.destroyed) return;
  // Closed once the answer is flushed, so a client that keeps its side open does not hold the gateway's close.
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end(
    problemResponse('METHOD_NOT_ALLOWED', 'CONNECT is not supported: no tunnels are opened', {
      headers: { Allow: '' },
    }),
  );
}
