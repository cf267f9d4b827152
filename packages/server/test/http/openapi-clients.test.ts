import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const REPO = resolve(import.meta.dirname, '../../../..');
const run = promisify(execFile);
const dialect = DIALECTS.find((d) => d.available);
/** An OpenAPI document, as @readme/openapi-parser takes it. */
type OpenApiDocument = Exclude<Parameters<typeof validate>[0], string>;

/** True when openapi-python-client is on the PATH (it comes from PyPI, which not every machine reaches). */
const pythonClient = spawnSync('openapi-python-client', ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!dialect)('clients generated from /openapi.json', () => {
  let h: Harness;
  let dir: string;
  let docFile: string;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    if (!dialect) return;
    h = await createHarness(dialect);
    doc = (await h.request({ method: 'GET', url: '/openapi.json', auth: null })).json();
    dir = mkdtempSync(join(tmpdir(), 'keyroll-openapi-'));
    docFile = join(dir, 'openapi.json');
    writeFileSync(docFile, JSON.stringify(doc));
  });
  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is a valid OpenAPI 3.1 document, without warnings', async () => {
    const result = await validate(structuredClone(doc));
    expect(result.valid ? [] : result.errors, 'errors').toEqual([]);
    expect(result.warnings, 'warnings').toEqual([]);
  });

  it('generates TypeScript types with openapi-typescript, without warnings, that compile', async () => {
    const out = join(dir, 'keyroll-api.ts');
    const cli = join(REPO, 'node_modules/openapi-typescript/bin/cli.js');
    const { stderr, stdout } = await run(process.execPath, [cli, docFile, '-o', out], { timeout: 60_000 });
    // Its only output is a banner and the line naming the file it wrote.
    const lines = `${stdout}\n${stderr}`.split('\n').filter((l) => l.trim() && !/openapi-typescript \d|→/.test(l));
    expect(lines, 'openapi-typescript warnings').toEqual([]);

    const types = readFileSync(out, 'utf8');
    // Named operations and shared schemas, not anonymous copies.
    expect(types).toMatch(/export interface operations \{\n\s+getLiveness: \{/);
    for (const op of ['createKey', 'listKeys', 'rotateKey', 'rotateSelf', 'verifyKey'])
      expect(types).toContain(`    ${op}: {`);
    expect(types).toContain('"application/problem+json": components["schemas"]["Problem"]');
    expect(types).toMatch(/Key: \{\n\s+id: string;/);
    expect(types).toContain('createdAt: components["schemas"]["DateTime"]');

    // The generated file is strict TypeScript.
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    // (From the temporary folder, so that no node_modules/@types of this repo joins the check.)
    const check = await run(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', out], {
      cwd: dir,
      timeout: 60_000,
    }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? 'tsc failed' }));
    expect(check.stdout).toBe('');
  });

  it.skipIf(!pythonClient)(
    `generates a Python client with openapi-python-client, without warnings${pythonClient ? '' : ' (skipped: openapi-python-client is not installed; `pip install openapi-python-client`)'}`,
    async () => {
      const out = join(dir, 'python');
      const { stdout, stderr } = await run(
        'openapi-python-client',
        ['generate', '--path', docFile, '--output-path', out, '--meta', 'none'],
        { timeout: 120_000 },
      );
      expect(`${stdout}${stderr}`).not.toMatch(/warning|error|unable/i);
    },
  );
});
