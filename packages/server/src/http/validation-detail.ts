import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

/** One schema violation as a problem's `errors[]` lists it. */
export interface ViolationEntry {
  path: string | undefined;
  message: string | undefined;
  params: Record<string, unknown>;
}

const ALTERNATIVES = new Set(['anyOf', 'oneOf']);

function isUnder(path: string, parent: string): boolean {
  return path === parent || path.startsWith(`${parent}/`);
}

/** The `description` of the schema an error is about (Ajv's `verbose` errors carry it), if any. */
function describedAs(error: FastifySchemaValidationError): string | undefined {
  const parent = 'parentSchema' in error ? error.parentSchema : undefined;
  if (parent === null || typeof parent !== 'object' || !('description' in parent)) return undefined;
  return typeof parent.description === 'string' ? parent.description : undefined;
}

/**
 * What a value that matched none of a union's forms is told: the union's description, the literal
 * values it allows, or `null` when one form had the right type (its own complaints say more).
 */
function unionSummary(union: FastifySchemaValidationError, branches: FastifySchemaValidationError[]): string | null {
  const description = describedAs(union);
  if (description) return `must be ${description}`;
  const literals = branches.flatMap((b) =>
    b.keyword === 'const' ? [b.params.allowedValue] : b.keyword === 'enum' ? [b.params.allowedValues].flat() : [],
  );
  if (literals.length > 0 && literals.length === branches.length) {
    return `must be one of ${literals.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const typeMismatch = (b: FastifySchemaValidationError) =>
    b.keyword === 'type' && b.instancePath === union.instancePath;
  if (branches.some((b) => !typeMismatch(b))) return null;
  return union.message ?? 'is not valid';
}

/**
 * Turns Ajv's errors for one part of a request (`body`, `querystring`, …) into a detail that names
 * the offending field: an unknown field by its name, and a value that matched none of a union's
 * forms by what the union accepts rather than by each form's own complaint.
 */
export function describeViolations(
  context: string,
  errors: readonly FastifySchemaValidationError[],
): { detail: string; entries: ViolationEntry[] } {
  const skipped = new Set<FastifySchemaValidationError>();
  const summaries = new Map<FastifySchemaValidationError, string>();
  for (const union of errors.filter((e) => ALTERNATIVES.has(e.keyword))) {
    if (skipped.has(union)) continue;
    const branches = errors.filter((e) => e !== union && isUnder(e.instancePath, union.instancePath));
    const summary = unionSummary(union, branches);
    if (summary !== null) {
      summaries.set(union, summary);
      for (const b of branches) skipped.add(b);
    } else {
      // The form whose type matched explains the failure; the others only say "wrong type".
      skipped.add(union);
      for (const b of branches) if (b.keyword === 'type' && b.instancePath === union.instancePath) skipped.add(b);
    }
  }
  const sentences: string[] = [];
  const entries: ViolationEntry[] = [];
  for (const error of errors) {
    if (skipped.has(error)) continue;
    const message =
      summaries.get(error) ??
      (error.keyword === 'additionalProperties'
        ? `has an unknown field ${JSON.stringify(error.params.additionalProperty)}`
        : (error.message ?? 'is not valid'));
    sentences.push(`${context}${error.instancePath} ${message}`);
    entries.push({ path: error.instancePath || undefined, message, params: error.params });
  }
  return { detail: sentences.join('; '), entries };
}
