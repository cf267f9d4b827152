import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { keyPattern } from '../leaks/key-pattern.js';

/** `keyroll leaks pattern`: the regular expression and sample to register with a secret scanner. */
export function addLeakCommands(program: Command): void {
  const leaks = program.command('leaks').description('leak response: what to register with secret scanners');
  leaks
    .command('pattern')
    .description(
      'print the regular expression of a whole keyroll key (configured prefixes) and a sample that is not a live key',
    )
    .option('--json', 'print JSON {pattern, sample}')
    .action((opts: { json?: boolean }) => {
      const config = loadConfig();
      const p = keyPattern([config.keyPrefix, config.rootKeyPrefix]);
      process.stdout.write(opts.json ? `${JSON.stringify(p)}\n` : `${p.pattern}\nsample: ${p.sample}\n`);
    });
}
