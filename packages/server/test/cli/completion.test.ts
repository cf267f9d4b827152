import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cli, cliJson } from './run-cli.js';

beforeAll(assertBuilt);

/** What the bash script completes for the words typed so far (the last one being completed). */
function complete(script: string, words: string[]): string[] {
  const file = join(tmpdir(), `keyroll-completion-${process.pid}.bash`);
  writeFileSync(file, script);
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _keyroll; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      file,
      ...words,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('keyroll completion', () => {
  it('bash: completes commands, subcommands and options', async () => {
    const res = await cli(['completion', 'bash']);
    expect(res.code).toBe(0);
    const script = res.stdout;
    expect(complete(script, ['keyroll', 'a'])).toEqual(['alerts', 'audit']);
    expect(complete(script, ['keyroll', 'webhooks', 'd'])).toEqual(['delete', 'deliveries']);
    expect(complete(script, ['keyroll', 'audit', 'export', '--f'])).toEqual(['--format', '--from']);
    expect(complete(script, ['keyroll', 'status', '--'])).toEqual(['--json', '--help']);
    expect(complete(script, ['keyroll', 'usage', 'key', 'key_1', '--s'])).toEqual(['--since']);
  });

  it('zsh: the same through bashcompinit; --json wraps the script', async () => {
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -F _keyroll keyroll');
    expect(await cliJson(['completion', 'zsh'], {})).toEqual({ shell: 'zsh', script: zsh.stdout });
    expect((await cli(['completion', 'fish'])).code).not.toBe(0);
  });
});
