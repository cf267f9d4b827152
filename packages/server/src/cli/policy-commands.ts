import { type Command, Option } from 'commander';
import { callAdmin } from './admin-client.js';
import { changeAndPrint, seg, targetOf } from './command-kit.js';
import { fields, print, type Row, table } from './output.js';

/** `keyroll policies list|get|set|delete`: automatic rotation at an age, per consumer or by default. */
export function registerPolicyCommands(program: Command): void {
  const policies = program
    .command('policies')
    .description('manage rotation policies (target: "default" or a consumer id)');
  policies
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const page = await callAdmin<{ data: Row[] }>(targetOf(cmd), 'GET', '/v1/rotation-policies');
      print(opts.json, page, () => table(page.data, ['target', 'every', 'gracePeriod', 'notifyBefore', 'onReuse']));
    });
  policies
    .command('get <target>')
    .description('the policy of a consumer (or the default it falls back to)')
    .option('--json', 'print JSON')
    .action(async (target: string, opts, cmd: Command) => {
      const policy = await callAdmin<Row>(targetOf(cmd), 'GET', `/v1/rotation-policies/${seg(target)}`);
      print(opts.json, policy, () => fields(policy));
    });
  policies
    .command('set <target>')
    .requiredOption('--every <duration>', 'rotate keys at this age, e.g. 90d')
    .requiredOption('--grace <duration>', 'overlap window of each rotation, e.g. 7d')
    .option('--notify-before <duration>', 'announce a rotation this long before it starts')
    .addOption(new Option('--on-reuse <action>', 'when a retired key is used').choices(['reject', 'revoke']))
    .option('--json', 'print JSON')
    .action((target: string, opts, cmd: Command) =>
      changeAndPrint(
        cmd,
        'PUT',
        `/v1/rotation-policies/${seg(target)}`,
        { every: opts.every, gracePeriod: opts.grace, notifyBefore: opts.notifyBefore, onReuse: opts.onReuse },
        (policy) => [`policy ${policy.target}: rotate every ${policy.every}, grace ${policy.gracePeriod}`],
      ),
    );
  policies
    .command('delete <target>')
    .option('--json', 'print JSON')
    .action(async (target: string, opts, cmd: Command) => {
      await callAdmin(targetOf(cmd), 'DELETE', `/v1/rotation-policies/${seg(target)}`);
      print(opts.json, { target, deleted: true }, () => [`deleted the rotation policy of ${target}`]);
    });
}
