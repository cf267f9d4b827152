import { ApiError, type ErrorCode } from '@keyroll/core';
import { ERROR_STATUS, PROBLEM_CONTENT_TYPE, problemOf } from '@keyroll/verifier';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteMethods } from './route-methods.js';
import { describeViolations } from './validation-detail.js';

/** Sends an RFC 9457 problem+json response (the same shape as the gateway's and the adapters'). */
export function sendProblem(
  reply: FastifyReply,
  code: ErrorCode | string,
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  // A key pasted into a URL (or echoed in a detail) is never sent back: problemOf redacts instance, detail and extras.
  const body = problemOf(code, status, detail, reply.request.url.split('?')[0] ?? '', extra);
  return reply.code(status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/** Fastify's own client errors, mapped to our codes (the rest by status, {@link CODE_BY_STATUS}). */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'INVALID_PATH',
  FST_ERR_INVALID_URL: 'INVALID_PATH',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

/** Any other client error Fastify raises keeps its status, with the code that status means here. */
const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** The code and status a Fastify client error is answered with, or `null` when it is no client error. */
function fastifyClientError(error: FastifyError): { code: ErrorCode; status: number } | null {
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) return { code: mapped, status: ERROR_STATUS[mapped] };
  if (!error.statusCode || error.statusCode < 400 || error.statusCode >= 500) return null;
  const byStatus = CODE_BY_STATUS[error.statusCode];
  return byStatus ? { code: byStatus, status: error.statusCode } : { code: 'VALIDATION_FAILED', status: 400 };
}

/**
 * Fastify's `frameworkErrors` option: errors raised before a route is found (a malformed URL, a
 * path parameter over the router's limit) are problems too, not Fastify's own JSON.
 */
export function frameworkErrorProblem(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const answer = fastifyClientError(error) ?? { code: 'VALIDATION_FAILED', status: 400 };
  const detail = answer.code === 'URI_TOO_LONG' ? 'a path segment is too long' : 'the request path is not valid';
  sendProblem(reply, answer.code, answer.status, detail);
}

/**
 * One error handler for the whole API: every client error is a 4xx problem; 5xx bodies say nothing
 * internal. A path that exists under other methods is a 405 with `Allow`, any other a 404.
 */
export function installErrorHandling(app: FastifyInstance, routes: RouteMethods): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError)
      return sendProblem(reply, error.code, ERROR_STATUS[error.code], error.message, error.details ?? {});
    if (error.validation) {
      const { detail, entries } = describeViolations(error.validationContext ?? 'request', error.validation);
      return sendProblem(reply, 'VALIDATION_FAILED', 400, detail || error.message, { errors: entries });
    }
    const client = fastifyClientError(error);
    if (client) return sendProblem(reply, client.code, client.status, error.message);
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 'INTERNAL', 500, 'internal error');
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = routes.allowedOn(request.url);
    if (allowed.length === 0)
      return sendProblem(reply, 'ROUTE_NOT_FOUND', 404, `no route for ${request.method} ${path}`);
    reply.header('allow', allowed.join(', '));
    return sendProblem(reply, 'METHOD_NOT_ALLOWED', 405, `${request.method} is not allowed on ${path}`, {
      allowed,
    });
  });
}
