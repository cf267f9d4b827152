import { redactKeys } from '@keyroll/core';
import type { FastifyServerOptions } from 'fastify';

/** Headers never to be logged: they carry keys. */
export const REDACTED_HEADERS = ['req.headers.authorization', 'req.headers["x-api-key"]'];

/**
 * The API's logger options: `true` or an options object, with the key-bearing headers redacted and
 * every line passed through {@link redactKeys} just before it is written, so that a key pasted into
 * a URL (`GET /v1/keys/kr_live_…`, `?key=kr_live_…`) or quoted in an error never reaches a log line,
 * whichever field or message carries it. `false` (or nothing) stays off.
 */
export function keyRedactingLogger(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  const base = logger === true ? {} : logger;
  const write = base.hooks?.streamWrite;
  return {
    ...base,
    redact: base.redact ?? REDACTED_HEADERS,
    hooks: { ...base.hooks, streamWrite: (line: string) => redactKeys(write ? write(line) : line) },
  };
}
