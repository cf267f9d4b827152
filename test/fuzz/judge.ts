import type { FuzzResponse, WireRequest } from './senders.js';

/** A response that broke the contract, with the request that caused it. */
export interface FuzzFailure {
  index: number;
  strategy: string;
  via: string;
  request: WireRequest;
  status: number;
  why: string;
  contentType: string;
  body: string;
}

/**
 * What is wrong with a response, or `null`: nothing ≥ 500 (and always an HTTP response), and every
 * error an RFC 9457 problem — `application/problem+json` with a string `code` and `title` and a
 * numeric `status` equal to the HTTP status. A HEAD answer carries no body, so only its type is checked.
 */
export function judge(method: string, res: FuzzResponse): string | null {
  if (res.status === 0) return `no HTTP response (${res.error ?? 'connection closed'})`;
  if (res.status >= 500) return `status ${res.status}`;
  if (res.status < 400) return null;
  const type = String(res.headers['content-type'] ?? '');
  if (!/^application\/problem\+json(;|$)/.test(type)) return `error with content-type ${JSON.stringify(type)}`;
  if (method === 'HEAD') return null;
  let body: unknown;
  try {
    body = JSON.parse(res.raw.toString('utf8'));
  } catch {
    return 'problem body is not JSON';
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'problem body is not an object';
  const fields = new Map(Object.entries(body));
  if (typeof fields.get('code') !== 'string') return 'problem without a string code';
  if (typeof fields.get('title') !== 'string') return 'problem without a string title';
  if (fields.get('status') !== res.status) return `problem status ${String(fields.get('status'))} ≠ HTTP ${res.status}`;
  return null;
}

/** The problem `code` of a response, if it has one (for grouping failures). */
function codeOf(raw: string): string {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed !== null && typeof parsed === 'object' && 'code' in parsed) return String(parsed.code);
  } catch {
    // not JSON: no code
  }
  return '-';
}

/** A path with every segment that is not a known literal folded to `:x`, so failures of one kind group together. */
function shapeOf(target: string, literals: ReadonlySet<string>): string {
  const path = target.split('?')[0] ?? '';
  return path
    .split('/')
    .map((segment) => (segment === '' || literals.has(segment) ? segment : ':x'))
    .join('/')
    .slice(0, 80);
}

/** Groups failures by kind and renders each kind once, with a request that reproduces it. */
export function reportFailures(failures: FuzzFailure[], header: string, literals: ReadonlySet<string>): string {
  const groups = new Map<string, FuzzFailure[]>();
  for (const f of failures) {
    const key = `${f.via}: ${f.status} ${f.why} ${codeOf(f.body)}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const lines = [header, `${failures.length} failing responses in ${groups.size} kinds:`];
  for (const [key, fs] of groups) {
    const f = fs[0];
    if (!f) continue;
    const body = f.request.body?.toString('latin1') ?? '';
    lines.push(
      `- [${fs.length}×] ${key} (e.g. on ${[...new Set(fs.map((x) => shapeOf(x.request.target, literals)))].slice(0, 4).join(', ')})`,
      `    #${f.index} (${f.strategy}) ${f.request.method} ${JSON.stringify(f.request.target.slice(0, 300))}`,
      `    headers ${JSON.stringify(f.request.headers).slice(0, 400)}`,
      `    body ${JSON.stringify(body.slice(0, 300))}${body.length > 300 ? ` …(${body.length} bytes)` : ''}`,
      `    → ${f.status} ${f.contentType} ${JSON.stringify(f.body.slice(0, 300))}`,
    );
  }
  return lines.join('\n');
}
