import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { assertBuilt, cli, closedPort } from './run-cli.js';

beforeAll(assertBuilt);

describe('CLI errors when the server cannot be reached', () => {
  it('with --json: the code, the reason and the URL tried, as one JSON line on stdout, exit 1', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['status'], ['alerts', 'list'], ['audit', 'export'], ['usage', 'key', 'key_x']]) {
      const res = await cli([...args, '--json', '--url', url], { KEYROLL_ROOT_KEY: 'kr_root_x' });
      expect(res.code, args.join(' ')).toBe(1);
      // One line, so an NDJSON export (audit export, usage export) that fails midway stays NDJSON.
      expect(res.stdout.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      const { error } = JSON.parse(res.stdout);
      expect(error).toEqual({ code: 'UNREACHABLE', detail: 'ECONNREFUSED', url: expect.stringMatching(`^${url}/v1/`) });
      expect(res.stderr).toBe('');
    }
  });

  it('without --json: one line on stderr naming the URL', async () => {
    const port = await closedPort();
    const res = await cli(['cluster', 'status', '--url', `http://127.0.0.1:${port}`], {
      KEYROLL_ROOT_KEY: 'kr_root_x',
    });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(`keyroll: cannot reach keyroll at http://127.0.0.1:${port}/v1/cluster: ECONNREFUSED\n`);
  });

  it('a command line commander refuses is USAGE, as JSON with --json (and nothing on stderr)', async () => {
    const res = await cli(['keys', 'list', '--status', 'bogus', '--json'], { KEYROLL_ROOT_KEY: 'kr_root_x' });
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).error).toEqual({ code: 'USAGE', detail: expect.stringContaining("'bogus'") });
    expect(res.stderr).toBe('');
    const text = await cli(['completion']);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain("missing required argument 'shell'");
    expect((await cli(['--help'])).code).toBe(0);
  });

  it('a local failure (no root key) is CLI_ERROR, as JSON with --json', async () => {
    const res = await cli(['plans', 'list', '--json'], { KEYROLL_DATA_DIR: '/nonexistent-keyroll-dir' });
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).error).toMatchObject({
      code: 'CLI_ERROR',
      detail: expect.stringContaining('no root key'),
    });
  });
});

const [dialect] = DIALECTS;
describe.skipIf(!dialect?.available)('CLI errors from a running server', () => {
  let h: Harness;
  let env: Record<string, string>;
  beforeAll(async () => {
    h = await createHarness(dialect ?? DIALECTS[0]!);
    env = { KEYROLL_URL: await h.kr.app.listen({ host: '127.0.0.1', port: 0 }), KEYROLL_ROOT_KEY: h.rootKey };
  });
  afterAll(() => h?.close());

  it("print the problem's status, code and detail and the URL tried", async () => {
    const json = await cli(['alerts', 'ack', 'alr_unknown', '--json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'NOT_FOUND',
        status: 404,
        detail: expect.stringContaining('alr_unknown'),
        url: `${env.KEYROLL_URL}/v1/alerts/alr_unknown/acknowledge`,
      },
    });
    const text = await cli(['plans', 'get', 'pln_unknown'], env);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(
      /^keyroll: 404 NOT_FOUND: .*pln_unknown.* \(http:\/\/127\.0\.0\.1:\d+\/v1\/plans\/pln_unknown\)\n$/,
    );

    const narrow = await h.rootKeyWith(['keys:read']);
    const forbidden = await cli(['status', '--json'], { ...env, KEYROLL_ROOT_KEY: narrow });
    expect(forbidden.code).toBe(1);
    expect(JSON.parse(forbidden.stdout).error).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });
});
