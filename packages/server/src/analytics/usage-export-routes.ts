import { Readable } from 'node:stream';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '@keyroll/core';
import { type UsageExportRange, type UsageExportRow, usageExportRows } from '@keyroll/storage';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';
import { csvField } from '../export/csv-field.js';
import { requireRoot } from '../http/auth.js';
import { adminErrors } from '../http/schemas.js';
import { parseInstant } from '../http/time-input.js';

/** The longest range one export covers: a month of any length. */
const MAX_USAGE_EXPORT_MS = 31 * 86_400_000;
/** The range exported when `from` is left out: this long before `to`. */
const DEFAULT_USAGE_EXPORT_MS = 86_400_000;

/** The columns of an export row, in CSV order (the NDJSON objects' fields, in the same order). */
const COLUMNS = ['minute', 'consumerId', 'consumerName', 'keyId', 'keyName', 'code', 'count'] as const;

const MEDIA = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson' } as const;
type ExportFormat = keyof typeof MEDIA;

/** An export row as it is written: the minute as an ISO 8601 instant. */
function exported(row: UsageExportRow): Record<(typeof COLUMNS)[number], string | number | null> {
  return { ...row, minute: new Date(row.minute).toISOString() };
}

/** The export as lines of text: a CSV header then CRLF-ended records, or one JSON object per line. */
async function* exportLines(rows: AsyncIterable<UsageExportRow>, format: ExportFormat): AsyncGenerator<string> {
  if (format === 'csv') yield `${COLUMNS.join(',')}\r\n`;
  for await (const row of rows) {
    const out = exported(row);
    yield format === 'csv' ? `${COLUMNS.map((c) => csvField(out[c])).join(',')}\r\n` : `${JSON.stringify(out)}\n`;
  }
}

/** The range asked for: `to` defaults to now, `from` to a day before `to`; 400 when empty or longer than 31 days. */
function exportRange(query: { from?: string | undefined; to?: string | undefined }, now: number): UsageExportRange {
  const to = parseInstant('to', query.to) ?? now;
  const from = parseInstant('from', query.from) ?? to - DEFAULT_USAGE_EXPORT_MS;
  if (from >= to) throw new ApiError('VALIDATION_FAILED', 'from: must be before to', { field: 'from' });
  if (to - from > MAX_USAGE_EXPORT_MS) {
    throw new ApiError('VALIDATION_FAILED', 'to: the range may span at most 31 days; export longer ones in parts', {
      field: 'to',
    });
  }
  return { from, to };
}

const rowDescription =
  'one row per key, minute and verify code: minute (ISO 8601), consumerId, consumerName, keyId, keyName, code, count';

/** `GET /v1/usage/export`: usage per key, minute and outcome code, streamed as CSV or NDJSON (for billing). */
export async function usageExportRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/usage/export',
    {
      preHandler: requireRoot(deps.verifier, 'analytics:read'),
      schema: {
        tags: ['analytics'],
        summary: 'Export usage per key, minute and verify code as CSV or NDJSON, streamed (at most 31 days)',
        querystring: Type.Object(
          {
            from: Type.Optional(
              Type.String({ maxLength: 64, description: 'ISO 8601, inclusive; default: a day before to' }),
            ),
            to: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601, exclusive; default: now' })),
            format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')], { default: 'csv' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: `${rowDescription}; CSV (RFC 4180, header row, CRLF) or one JSON object per line`,
            content: {
              'text/csv': { schema: { type: 'string' } },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          ...adminErrors,
        },
      },
    },
    async (req, reply) => {
      const range = exportRange(req.query, deps.clock.now());
      const format: ExportFormat = req.query.format ?? 'csv';
      // This node's pending counts are written first; if storage refuses them now, export what is stored.
      await deps.usage.flush().catch(() => undefined);
      const lines = exportLines(usageExportRows(deps.store.db, range), format);
      return reply
        .type(MEDIA[format])
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="usage.${format}"`)
        .send(Readable.from(lines));
    },
  );
}
