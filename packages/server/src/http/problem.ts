import { ApiError, ERROR_STATUS, type ErrorCode, redactKeys, redactRecord } from '@keyroll/core';
import { PROBLEM_CONTENT_TYPE, problemOf } from '@keyroll/verifier';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Sends an RFC 9457 problem+json response (the same shape as the gateway's and the adapters'). */
export function sendProblem(
  reply: FastifyReply,
  code: ErrorCode | string,
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  // A key pasted into a URL (or echoed in a detail) is never sent back: instance, detail and extras are redacted.
  const instance = redactKeys(reply.request.url.split('?')[0] ?? '');
  const body = problemOf(code, status, redactKeys(detail), instance, redactRecord(extra));
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/** Fastify's own client errors, mapped to our codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
};

/** One error handler for the whole API: every client error is a 4xx problem; 5xx bodies say nothing internal. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError)
      return sendProblem(reply, error.code, error.status, error.message, error.details ?? {});
    if (error.validation) {
      const errors = error.validation.map((v) => ({
        path: v.instancePath || undefined,
        message: v.message,
        params: v.params,
      }));
      return sendProblem(
        reply,
        'VALIDATION_FAILED',
        400,
        `${error.validationContext ?? 'request'}${error.message.replace(/^(body|querystring|params|headers)/, '')}`,
        { errors },
      );
    }
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) return sendProblem(reply, mapped, ERROR_STATUS[mapped], error.message);
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, 'VALIDATION_FAILED', 400, error.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 'INTERNAL', 500, 'internal error');
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 'ROUTE_NOT_FOUND', 404, `no route for ${request.method} ${request.url.split('?')[0]}`),
  );
}
