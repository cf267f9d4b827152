/**
 * The reference pages under docs/reference are checked against the code: every error code (with its
 * HTTP status), verify code, webhook event type, Prometheus metric (with its type) and CLI command and
 * option in the source must be documented, and nothing documented in those tables may be gone from
 * the source. Lists come from the source modules themselves (via the `source` export condition, no
 * build needed); metrics and CLI options are read from the source text.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, VERIFY_CODES } from '@keyroll/core';
import { ERROR_STATUS } from '@keyroll/verifier';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '../../packages/server/src/webhooks/event-types.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The cells of every Markdown table row whose first cell is a single `code` span, by that code. */
function tableRows(markdown: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m?.[1] && m[2] !== undefined)
      rows.set(
        m[1],
        m[2].split('|').map((c) => c.trim()),
      );
  }
  return rows;
}

/** Every `.ts` file under a directory. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Every Prometheus metric defined in packages/{pkg}/src: name → type (counter, gauge, histogram, summary). */
function metricsInSource(): Map<string, string> {
  const found = new Map<string, string>();
  const packages = readdirSync(join(root, 'packages')).filter((p) =>
    statSync(join(root, 'packages', p, 'src'), { throwIfNoEntry: false }),
  );
  for (const file of packages.flatMap((p) => sourceFiles(`packages/${p}/src`))) {
    const text = read(file);
    for (const m of text.matchAll(
      /new\s+(?:client\.)?(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\(\s*\{\s*name:\s*['"`]([^'"`]+)['"`]/g,
    )) {
      if (m[1] && m[2]) found.set(m[2], m[1].toLowerCase());
    }
  }
  return found;
}

describe('docs/reference/error-codes.md', () => {
  const page = read('docs/reference/error-codes.md');
  const [errorPart = '', verifyPart = ''] = page.split('## Verify codes');
  const errors = tableRows(errorPart);
  const verify = tableRows(verifyPart);

  it('documents every error code with its HTTP status', () => {
    for (const code of ERROR_CODES) {
      expect(errors.has(code), `${code} is missing`).toBe(true);
      expect(errors.get(code)?.[0], `status of ${code}`).toBe(String(ERROR_STATUS[code]));
    }
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('documents no error code that the source does not have', () => {
    expect([...errors.keys()].filter((c) => !(ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  it('documents every verify code, and only those', () => {
    expect([...verify.keys()].sort()).toEqual([...VERIFY_CODES].sort());
  });
});

describe('docs/reference/webhook-events.md', () => {
  const rows = tableRows(read('docs/reference/webhook-events.md'));

  it('documents every webhook event type, and only those', () => {
    expect([...rows.keys()].filter((t) => t.includes('.')).sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
  });
});

describe('docs/reference/metrics.md', () => {
  const rows = tableRows(read('docs/reference/metrics.md'));
  const metrics = metricsInSource();

  it('finds the metrics in the source', () => {
    expect(metrics.size).toBeGreaterThan(0);
  });

  it('documents every metric with its type, and only those', () => {
    for (const [name, type] of metrics) {
      expect(rows.has(name), `${name} is missing`).toBe(true);
      expect(rows.get(name)?.[0], `type of ${name}`).toBe(type);
    }
    expect([...rows.keys()].sort()).toEqual([...metrics.keys()].sort());
  });
});

describe('docs/reference/cli.md', () => {
  const page = read('docs/reference/cli.md');
  const source = sourceFiles('packages/server/src/cli').map(read).join('\n');

  it('documents every command', () => {
    const commands = [...source.matchAll(/\.command\(\s*'([a-z-]+)/g)].map((m) => m[1]);
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) expect(page, `command ${command}`).toContain(command);
    for (const command of ['rollback', 'complete']) expect(page).toContain(`rotations ${command} <id>`);
  });

  it('documents every option', () => {
    const options = [...source.matchAll(/(?:option|Option)\(\s*'(--[a-z-]+)/g)].map((m) => m[1]);
    expect(options.length).toBeGreaterThan(0);
    for (const option of options) expect(page, `option ${option}`).toContain(`\`${option}`);
  });

  it('documents every environment variable the CLI reads', () => {
    const variables = [...source.matchAll(/process\.env\.(KEYROLL_[A-Z_]+)/g)].map((m) => m[1]);
    for (const variable of variables) expect(page, variable).toContain(`\`${variable}\``);
  });
});
