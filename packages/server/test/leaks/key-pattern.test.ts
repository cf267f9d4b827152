import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateKey, parseKey } from '@keyroll/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEY_BODY_LENGTH, keyPattern } from '../../src/leaks/key-pattern.js';

const CLI = join(resolve(import.meta.dirname, '../../../..'), 'packages/server/dist/cli.js');
const run = promisify(execFile);

/** The whole-string matches of `pattern` in `text`. */
function matches(pattern: string, text: string): string[] {
  return [...text.matchAll(new RegExp(pattern, 'g'))].map((m) => m[0]);
}

describe('keyroll leaks pattern', () => {
  const { pattern, sample } = keyPattern(['kr_live', 'kr_root']);

  it('matches every generated key whole, alone and inside text', () => {
    for (let i = 0; i < 200; i++) {
      for (const prefix of ['kr_live', 'kr_root']) {
        const { key } = generateKey(prefix);
        expect(matches(pattern, key)).toEqual([key]);
        expect(matches(pattern, `export API_KEY="${key}"\n`)).toEqual([key]);
        expect(matches(pattern, `Authorization: Bearer ${key},`)).toEqual([key]);
      }
    }
  });

  it('does not match near-misses', () => {
    const { key } = generateKey('kr_live');
    const body = key.slice('kr_live_'.length);
    expect(body).toHaveLength(KEY_BODY_LENGTH);
    const nearMisses = [
      key.slice(0, -1), // one character short
      `${key}A`, // one character long
      `x${key}`, // inside a longer token
      `_${key}`,
      `kr_test_${body}`, // a prefix not configured
      `kr_livex_${body}`,
      `KR_LIVE_${body}`,
      `kr_live-${body}`, // another separator
      `kr_live_${body.slice(0, 10)}-${body.slice(11)}`, // not base62
      `kr_live_${body.slice(0, 10)}_${body.slice(11)}`,
    ];
    for (const text of nearMisses) expect(matches(pattern, text), text).toEqual([]);
  });

  it('finds exactly the keys in any text, and no string of another body length (property)', () => {
    const base62 = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
    // Separators a key sits between in real text: nothing that is a word character or `_`.
    const gap = fc.string({ unit: fc.constantFrom(' ', '\n', '"', "'", '=', ':', ',', '-', '/', '.') });
    fc.assert(
      fc.property(fc.array(fc.tuple(gap, fc.constantFrom('kr_live', 'kr_root'))), gap, (parts, tail) => {
        const keys = parts.map(([, prefix]) => generateKey(prefix).key);
        const text = parts.map(([g], i) => `${g}${keys[i]}`).join('') + tail;
        // Between two keys there must be a separator; glued keys are one longer token.
        fc.pre(parts.every(([g], i) => i === 0 || g.length > 0));
        expect(matches(pattern, text)).toEqual(keys);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 80 }).filter((n) => n !== KEY_BODY_LENGTH),
        fc.infiniteStream(base62),
        (n, chars) => {
          const body = [...chars.take(n)].join('');
          expect(matches(pattern, `kr_live_${body}`)).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives a sample that matches, has a valid checksum and is no generated key', () => {
    expect(matches(pattern, sample)).toEqual([sample]);
    expect(parseKey(sample)?.prefix).toBe('kr_live');
    expect(sample).toContain('KeyrollSampleNotALiveKey');
  });

  it('follows the configured prefixes and refuses invalid ones', () => {
    const custom = keyPattern(['acme', 'acme_root']);
    const { key } = generateKey('acme_root');
    expect(matches(custom.pattern, key)).toEqual([key]);
    expect(matches(custom.pattern, generateKey('kr_live').key)).toEqual([]);
    expect(custom.sample.startsWith('acme_')).toBe(true);
    expect(() => keyPattern([])).toThrow(RangeError);
    expect(() => keyPattern(['Bad Prefix'])).toThrow(RangeError);
  });

  it('is printed by the built CLI, as JSON with --json', async () => {
    expect(existsSync(CLI)).toBe(true);
    const env = { PATH: process.env.PATH ?? '', KEYROLL_KEY_PREFIX: 'acme_live', KEYROLL_ROOT_KEY_PREFIX: 'acme_root' };
    const json = JSON.parse((await run(process.execPath, [CLI, 'leaks', 'pattern', '--json'], { env })).stdout);
    expect(json).toEqual(keyPattern(['acme_live', 'acme_root']));
    const human = (await run(process.execPath, [CLI, 'leaks', 'pattern'], { env })).stdout.split('\n');
    expect(human[0]).toBe(json.pattern);
    expect(human[1]).toBe(`sample: ${json.sample}`);
  });
});
