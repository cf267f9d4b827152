import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ERROR_STATUS, type ErrorCode } from '@keyroll/core';
import { PROBLEM_CONTENT_TYPE, problemOf } from '@keyroll/verifier';
import type { FastifyServerOptions } from 'fastify';

type ConnectionError = Parameters<NonNullable<FastifyServerOptions['clientErrorHandler']>>[0];

/** What a request Node's HTTP parser refused is told, by the parser's error code. */
function answerTo(error: ConnectionError): { code: ErrorCode; detail: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { code: 'REQUEST_TIMEOUT', detail: 'the request took too long to arrive' };
  if (error.code === 'HPE_HEADER_OVERFLOW')
    return { code: 'HEADERS_TOO_LARGE', detail: 'the request headers are too large' };
  return { code: 'VALIDATION_FAILED', detail: 'the request is not valid HTTP/1.1' };
}

/**
 * Fastify's `clientErrorHandler`: a request that never reached Fastify (malformed, headers too large,
 * too slow to arrive) is answered with a problem too, as Node would answer it, and the connection closed.
 */
export function clientErrorProblem(error: ConnectionError, socket: Socket): void {
  // A reset connection, or one already gone, has no one left to tell.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { code, detail } = answerTo(error);
    const status = ERROR_STATUS[code];
    const body = JSON.stringify(problemOf(code, status, detail));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
